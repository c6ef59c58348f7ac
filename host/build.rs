//! Builds the engine component (component/ for wasm32-unknown-unknown, wrapped into a component
//! with no WASI imports) so that the `tollgate` binary embeds it: a user never points at a file.
//!
//! The guest is built by a nested cargo with its own target directory: the outer cargo holds the
//! lock on the main one. Set `TOLLGATE_COMPONENT=path.wasm` to embed a prebuilt component instead.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default())
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    for watched in [
        "engine/src",
        "engine/Cargo.toml",
        "component/src",
        "component/Cargo.toml",
        "wit",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=TOLLGATE_COMPONENT");

    let component = match env::var_os("TOLLGATE_COMPONENT") {
        Some(prebuilt) => std::fs::read(&prebuilt).unwrap_or_else(|e| {
            fail(&format!(
                "cannot read TOLLGATE_COMPONENT `{}`: {e}",
                prebuilt.to_string_lossy()
            ))
        }),
        None => componentize(&build_guest(&root, &out)),
    };
    let dest = out.join("tollgate-engine.component.wasm");
    std::fs::write(&dest, component)
        .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", dest.display())));
}

/// Builds the guest's core module and returns its path.
fn build_guest(root: &Path, out: &Path) -> PathBuf {
    // target/<profile>/build/tollgate-<hash>/out → target/
    let target_dir = out
        .ancestors()
        .nth(4)
        .map(|t| t.join("wasm-guest"))
        .unwrap_or_else(|| out.join("wasm-guest"));
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root).args([
        "build",
        "--package",
        "tollgate-component",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "component",
        "--locked",
    ]);
    // The outer build's settings are for the host: none of them may leak into the guest build.
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        if (key.starts_with("CARGO_") && key != "CARGO_HOME")
            || key.starts_with("RUSTC")
            || key == "RUSTFLAGS"
            || key == "RUSTDOCFLAGS"
        {
            cmd.env_remove(key.as_ref());
        }
    }
    cmd.env("CARGO_TARGET_DIR", &target_dir);
    if !rustup_has_wasm_target() {
        // The Debian rustc-web fallback of ../shared/TOOLCHAIN.md: build std for wasm32 from
        // source and link with wasm-ld.
        cmd.env("RUSTC", "/usr/bin/rustc")
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", "wasm-ld-22")
            .arg("-Zbuild-std=std,panic_abort");
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| fail(&format!("cannot run cargo for the engine component: {e}")));
    if !status.success() {
        fail(
            "building the engine component (tollgate-component for wasm32-unknown-unknown) failed; run scripts/setup.sh to install the wasm target",
        );
    }
    target_dir.join("wasm32-unknown-unknown/component/tollgate_component.wasm")
}

fn rustup_has_wasm_target() -> bool {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .is_some_and(|sysroot| sysroot.join("lib/rustlib/wasm32-unknown-unknown").is_dir())
}

/// Wraps the core module into a component; it must import nothing.
fn componentize(core: &Path) -> Vec<u8> {
    let bytes = std::fs::read(core)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", core.display())));
    wit_component::ComponentEncoder::default()
        .module(&bytes)
        .and_then(|encoder| encoder.validate(true).encode())
        .unwrap_or_else(|e| {
            fail(&format!(
                "cannot make a component of {}: {e:#}",
                core.display()
            ))
        })
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}
