//! The tree a policy document is read into before it is checked: like `serde_json::Value`, but
//! strings borrow from the document text where they can and mappings keep their entries in a list.
//!
//! Reading a document into `Value` allocated every key and string and inserted each key into a
//! `BTreeMap`; in the WebAssembly builds, where comparing strings is a byte loop, that was a large
//! part of loading a policy set. Here a JSON string without escapes is a slice of the text, and a
//! mapping is a `Vec` of its entries in document order, duplicates included, so the reader can
//! report a repeated key instead of silently keeping one of its values.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Number, Value};

/// A document value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Object<'a>),
}

/// A mapping's entries, in document order.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Object<'a>(Vec<(Cow<'a, str>, Node<'a>)>);

impl<'a> Object<'a> {
    /// The value of the first entry named `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Every key, repeated ones as often as they are written.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| &**k)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Node<'a>)> {
        self.0.iter().map(|(k, v)| (&**k, v))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

impl Node<'_> {
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Node::Null)
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_u64(&self) -> Option<u64> {
        match self {
            Node::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    /// The same value as a `serde_json::Value` (a repeated key keeps its last value, as
    /// `Value` does).
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(n.clone()),
            Node::String(s) => Value::String(s.clone().into_owned()),
            Node::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Node::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.to_owned(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

/// Compact JSON, as `serde_json::Value` prints it.
impl fmt::Display for Node<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl Serialize for Node<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => s.serialize_unit(),
            Node::Bool(b) => s.serialize_bool(*b),
            Node::Number(n) => n.serialize(s),
            Node::String(text) => s.serialize_str(text),
            Node::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Object(map) => {
                let mut out = s.serialize_map(Some(map.len()))?;
                for (k, v) in map.iter() {
                    out.serialize_entry(k, v)?;
                }
                out.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        NodeSeed(&mut Spare::default()).deserialize(d)
    }
}

/// Emptied vectors of trees read before, for the next: a document's policies are read one at a
/// time, each into a tree that is dropped once checked, so its lists and mappings can hold the
/// next policy's. Most of a policy's allocations were these vectors.
#[derive(Debug, Default)]
pub(crate) struct Spare<'de> {
    arrays: Vec<Vec<Node<'de>>>,
    objects: Vec<Vec<(Cow<'de, str>, Node<'de>)>>,
}

impl<'de> Spare<'de> {
    /// Takes a tree apart, keeping its vectors.
    pub(crate) fn recycle(&mut self, node: Node<'de>) {
        match node {
            Node::Array(mut items) => {
                for item in items.drain(..) {
                    self.recycle(item);
                }
                self.arrays.push(items);
            }
            Node::Object(Object(mut entries)) => {
                for (_, value) in entries.drain(..) {
                    self.recycle(value);
                }
                self.objects.push(entries);
            }
            _ => {}
        }
    }
}

/// Reads a tree, taking its vectors from the spares first.
pub(crate) struct NodeSeed<'s, 'de>(pub(crate) &'s mut Spare<'de>);

impl<'de> DeserializeSeed<'de> for NodeSeed<'_, 'de> {
    type Value = Node<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_, 'de> {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Node<'de>, E> {
        Ok(Node::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Node<'de>, E> {
        Ok(Node::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Node<'de>, E> {
        // As `Value` does: a number JSON cannot hold (NaN, infinity) becomes null.
        Ok(Number::from_f64(n).map_or(Node::Null, Node::Number))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(s)))
    }

    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }

    fn visit_none<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node<'de>, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let spare = self.0;
        let mut items = spare.arrays.pop().unwrap_or_default();
        items.reserve(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(NodeSeed(&mut *spare))? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let spare = self.0;
        let mut entries = spare.objects.pop().unwrap_or_default();
        entries.reserve(map.size_hint().unwrap_or(0).min(64));
        while let Some(Key(key)) = map.next_key()? {
            entries.push((key, map.next_value_seed(NodeSeed(&mut *spare))?));
        }
        Ok(Node::Object(Object(entries)))
    }
}

/// A mapping key, borrowed from the text where it can be (serde's own `Cow<str>` always copies).
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_without_escapes_borrow_the_text() {
        let text = r#"{"id": "a", "list": ["b", "c\"d"], "n": 1.5, "m": -2, "t": true, "z": null}"#;
        let node: Node<'_> = serde_json::from_str(text).expect("parses");
        let Node::Object(map) = &node else {
            panic!("not a mapping: {node:?}")
        };
        assert!(matches!(
            map.get("id"),
            Some(Node::String(Cow::Borrowed("a")))
        ));
        let Some(Node::Array(list)) = map.get("list") else {
            panic!("no list")
        };
        assert!(matches!(&list[0], Node::String(Cow::Borrowed("b"))));
        assert!(matches!(&list[1], Node::String(Cow::Owned(s)) if s == "c\"d"));
        assert_eq!(
            node.to_value(),
            serde_json::from_str::<Value>(text).expect("parses")
        );
        // Printed in document order, whether or not serde_json keeps the order of its maps.
        assert_eq!(
            node.to_string(),
            r#"{"id":"a","list":["b","c\"d"],"n":1.5,"m":-2,"t":true,"z":null}"#
        );
    }

    #[test]
    fn a_tree_read_into_recycled_vectors_is_the_tree_read_afresh() {
        let first = r#"{"a": [1, [2, 3], {"b": {"c": []}}], "d": {"e": "f"}, "g": [[], {}]}"#;
        let second = r#"[{"x": [true, null]}, [[["deep"]]], {}, [], {"y": {"z": [1.5]}}]"#;
        let mut spare = Spare::default();
        let mut de = serde_json::Deserializer::from_str(first);
        let tree = NodeSeed(&mut spare).deserialize(&mut de).expect("parses");
        assert_eq!(
            tree,
            serde_json::from_str::<Node<'_>>(first).expect("parses")
        );
        spare.recycle(tree);
        let (arrays, objects) = (spare.arrays.len(), spare.objects.len());
        assert_eq!((arrays, objects), (5, 5));
        assert!(spare.arrays.iter().all(Vec::is_empty) && spare.objects.iter().all(Vec::is_empty));

        let mut de = serde_json::Deserializer::from_str(second);
        let tree = NodeSeed(&mut spare).deserialize(&mut de).expect("parses");
        assert_eq!(
            tree,
            serde_json::from_str::<Node<'_>>(second).expect("parses")
        );
        // `second` has seven lists and four mappings: it took every spare list and four mappings.
        assert_eq!((spare.arrays.len(), spare.objects.len()), (0, 1));
    }

    #[test]
    fn a_repeated_key_is_kept() {
        let node: Node<'_> = serde_json::from_str(r#"{"a": 1, "a": 2}"#).expect("parses");
        let Node::Object(map) = &node else {
            panic!("not a mapping")
        };
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "a"]);
        assert_eq!(map.get("a"), Some(&Node::Number(1.into())));
        // Converted, the last value wins, as in `serde_json::Value`.
        assert_eq!(node.to_value(), serde_json::json!({"a": 2}));
    }

    #[test]
    fn non_string_keys_are_refused() {
        assert!(serde_json::from_str::<Node<'_>>(r#"{1: 2}"#).is_err());
    }
}
