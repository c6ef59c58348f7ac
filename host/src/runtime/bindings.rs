//! The bindings wasmtime generates for the engine's WIT world (`wit/`), private to the runtime
//! (house style habit 4): [`super`] calls the guest through them and `convert` maps between them
//! and the engine's types.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "policy-engine",
    // Requests are lowered straight from the caller's strings: no owned copy on the host. The
    // compact record, both a parameter and a result, comes in both forms.
    ownership: Borrowing {
        duplicate_if_necessary: true
    },
});

/// The engine interface the component exports.
pub(super) use exports::tollgate::policy::engine as wit;
