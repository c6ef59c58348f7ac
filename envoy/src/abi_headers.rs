//! The request header map in the proxy-wasm ABI's serialised form, read in place where the host
//! hands it over (not to be confused with [`crate::headers`], the headers the filter itself owns).
//!
//! The SDK's `get_http_request_headers_bytes` copies every name into a `String` and every value
//! into a `Vec`: two allocations per header, about twenty on every request, to read three headers
//! and check every name for the reserved prefix. This reads the host's buffer in place instead.
//!
//! The form (proxy-wasm ABI 0.2.1, `proxy_get_header_map_pairs`): the number of pairs as a
//! little-endian `u32`; then for each pair the name's length and the value's length, each a
//! little-endian `u32`; then for each pair the name, a NUL byte, the value and a NUL byte.

/// Why a buffer is not a header map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// The bytes do not have the ABI's layout (a length that runs past the end, a missing NUL):
    /// the host's doing.
    Layout,
    /// A header name is not UTF-8 (the ABI makes names strings; values may be any bytes): a
    /// client's doing, when the host lets such a name through.
    NameNotUtf8,
}

/// The pairs of a serialised header map, in order, borrowed from it. An empty buffer is an empty
/// map (the host's answer when there are no headers).
pub fn pairs(bytes: &[u8]) -> Result<Vec<(&str, &[u8])>, Malformed> {
    use Malformed::Layout;
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let (count, mut lengths) = bytes.split_first_chunk::<4>().ok_or(Layout)?;
    let count = usize::try_from(u32::from_le_bytes(*count)).map_err(|_| Layout)?;
    // At least 10 bytes per pair, so a count that cannot fit is refused before allocating.
    if count > bytes.len() / 10 {
        return Err(Layout);
    }
    let mut data = count
        .checked_mul(8)
        .and_then(|end| lengths.get(end..))
        .ok_or(Layout)?;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let (name_len, rest) = lengths.split_first_chunk::<4>().ok_or(Layout)?;
        let (value_len, rest) = rest.split_first_chunk::<4>().ok_or(Layout)?;
        lengths = rest;
        let name_len = usize::try_from(u32::from_le_bytes(*name_len)).map_err(|_| Layout)?;
        let value_len = usize::try_from(u32::from_le_bytes(*value_len)).map_err(|_| Layout)?;
        let (name, rest) = data.split_at_checked(name_len).ok_or(Layout)?;
        let rest = rest.strip_prefix(&[0]).ok_or(Layout)?;
        let (value, rest) = rest.split_at_checked(value_len).ok_or(Layout)?;
        data = rest.strip_prefix(&[0]).ok_or(Layout)?;
        let name = std::str::from_utf8(name).map_err(|_| Malformed::NameNotUtf8)?;
        out.push((name, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The host's form of a map, written out independently of the reader.
    fn serialise(map: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = u32::try_from(map.len()).unwrap().to_le_bytes().to_vec();
        for (name, value) in map {
            out.extend(u32::try_from(name.len()).unwrap().to_le_bytes());
            out.extend(u32::try_from(value.len()).unwrap().to_le_bytes());
        }
        for (name, value) in map {
            out.extend(name.as_bytes());
            out.push(0);
            out.extend(*value);
            out.push(0);
        }
        out
    }

    #[test]
    fn reads_every_pair_in_order() {
        let map: [(&str, &[u8]); 4] = [
            (":method", b"GET"),
            (":path", b"/items?x=1"),
            ("authorization", b"Bearer abc"),
            ("x-empty", b""),
        ];
        let bytes = serialise(&map);
        let read = pairs(&bytes).unwrap();
        assert_eq!(read, map);
    }

    #[test]
    fn values_need_not_be_utf8() {
        let bytes = serialise(&[("x-raw", &[0xff, 0xfe, b'a'])]);
        assert_eq!(pairs(&bytes).unwrap(), [("x-raw", &[0xff, 0xfe, b'a'][..])]);
    }

    #[test]
    fn names_must_be_utf8() {
        let mut bytes = serialise(&[("x-tollgate-sub", b"u")]);
        let at = 4 + 8 + "x-tollgate-".len();
        bytes[at] = 0xff;
        assert_eq!(pairs(&bytes), Err(Malformed::NameNotUtf8));
    }

    #[test]
    fn empty_maps() {
        assert_eq!(pairs(&[]).unwrap(), []);
        assert_eq!(pairs(&serialise(&[])).unwrap(), []);
    }

    #[test]
    fn malformed_buffers_are_refused() {
        let good = serialise(&[(":path", b"/a"), ("host", b"example.com")]);
        // Cut anywhere: never a panic, never a partial map.
        for end in 1..good.len() {
            assert_eq!(pairs(&good[..end]), Err(Malformed::Layout), "cut at {end}");
        }
        // A missing NUL after a name.
        let mut bad = good.clone();
        let at = 4 + 2 * 8 + ":path".len();
        bad[at] = b'x';
        assert_eq!(pairs(&bad), Err(Malformed::Layout));
        // A count far beyond the buffer.
        let mut huge = good.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(pairs(&huge), Err(Malformed::Layout));
        // A length far beyond the buffer.
        let mut long = good;
        long[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(pairs(&long), Err(Malformed::Layout));
    }
}
