//! A header map read in place from the form the host hands it over in.
//!
//! The SDK's `get_http_request_headers_bytes` copies every name into a `String` and every value
//! into a `Vec`: two allocations per header, about twenty on every request, to read three headers
//! and check every name for the reserved prefix. This reads the host's buffer in place instead.
//!
//! The form (proxy-wasm ABI 0.2.1, `proxy_get_header_map_pairs`): the number of pairs as a
//! little-endian `u32`; then for each pair the name's length and the value's length, each a
//! little-endian `u32`; then for each pair the name, a NUL byte, the value and a NUL byte.

/// The pairs of a serialised header map, in order, borrowed from it; `None` when the bytes do not
/// have that form (a length that runs past the end, a missing NUL) or a name is not UTF-8 (the ABI
/// makes names strings; values may be any bytes). An empty buffer is an empty map (the host's
/// answer when there are no headers).
pub fn pairs(bytes: &[u8]) -> Option<Vec<(&str, &[u8])>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let (count, mut lengths) = bytes.split_first_chunk::<4>()?;
    let count = usize::try_from(u32::from_le_bytes(*count)).ok()?;
    // At least 10 bytes per pair, so a count that cannot fit is refused before allocating.
    if count > bytes.len() / 10 {
        return None;
    }
    let mut data = lengths.get(count.checked_mul(8)?..)?;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let (name_len, rest) = lengths.split_first_chunk::<4>()?;
        let (value_len, rest) = rest.split_first_chunk::<4>()?;
        lengths = rest;
        let name_len = usize::try_from(u32::from_le_bytes(*name_len)).ok()?;
        let value_len = usize::try_from(u32::from_le_bytes(*value_len)).ok()?;
        let (name, rest) = data.split_at_checked(name_len)?;
        let (&0, rest) = rest.split_first()? else {
            return None;
        };
        let (value, rest) = rest.split_at_checked(value_len)?;
        let (&0, rest) = rest.split_first()? else {
            return None;
        };
        data = rest;
        out.push((std::str::from_utf8(name).ok()?, value));
    }
    Some(out)
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
        assert_eq!(pairs(&bytes), None);
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
            assert_eq!(pairs(&good[..end]), None, "cut at {end}");
        }
        // A missing NUL after a name.
        let mut bad = good.clone();
        let at = 4 + 2 * 8 + ":path".len();
        bad[at] = b'x';
        assert_eq!(pairs(&bad), None);
        // A count far beyond the buffer.
        let mut huge = good.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(pairs(&huge), None);
        // A length far beyond the buffer.
        let mut long = good;
        long[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(pairs(&long), None);
    }
}
