//! Build orchestration for Tollgate's wasm artifacts, so the project does not depend on the
//! `wasm-tools` CLI.
//!
//! ```text
//! cargo run -p xtask -- componentize IN.wasm OUT.wasm   # core module (wit-bindgen guest) -> component
//! cargo run -p xtask -- inspect FILE.wasm               # a component's or core module's imports/exports
//! ```

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use wit_component::{ComponentEncoder, DecodedWasm};
use wit_parser::{Resolve, WorldItem, WorldKey};

const USAGE: &str = "\
usage: xtask <command>

commands:
  componentize IN OUT   wrap the core module IN (built by a wit-bindgen guest for
                        wasm32-unknown-unknown) into the component OUT; refuses WASI imports
  inspect FILE          print the imports and exports of a component or core module";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["componentize", input, output] => componentize(Path::new(input), Path::new(output)),
        ["inspect", file] => inspect(Path::new(file)),
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Encodes the core module `input` as a component, validates it and writes it to `output`.
fn componentize(input: &Path, output: &Path) -> Result<()> {
    let module = read(input)?;
    let component = ComponentEncoder::default()
        .module(&module)
        .with_context(|| format!("`{}` is not a wit-bindgen core module", input.display()))?
        .validate(true)
        .encode()
        .with_context(|| format!("cannot encode `{}` as a component", input.display()))?;

    // The engine is pure: a WASI import means something in the guest reached for the OS.
    let (resolve, world) = decode_component(&component)?;
    let wasi: Vec<String> = item_names(&resolve, world_items(&resolve, world, Side::Import)?)
        .into_iter()
        .filter(|name| name.starts_with("wasi:"))
        .collect();
    if !wasi.is_empty() {
        bail!(
            "the component imports WASI ({}); build the guest for wasm32-unknown-unknown",
            wasi.join(", ")
        );
    }

    std::fs::write(output, &component)
        .with_context(|| format!("cannot write `{}`", output.display()))?;
    println!(
        "{} ({} bytes) -> {} ({} bytes)",
        input.display(),
        module.len(),
        output.display(),
        component.len()
    );
    Ok(())
}

/// Prints a component's world (imports, exports and the functions of each interface) or a core
/// module's imports and exports.
fn inspect(file: &Path) -> Result<()> {
    let bytes = read(file)?;
    if wasmparser::Parser::is_component(&bytes) {
        let (resolve, world) = decode_component(&bytes)?;
        println!("component {} ({} bytes)", file.display(), bytes.len());
        for side in [Side::Import, Side::Export] {
            let items = world_items(&resolve, world, side)?;
            if items.is_empty() {
                println!("  {}s: none", side.word());
            }
            for (key, item) in items {
                println!("  {} {}", side.word(), resolve.name_world_key(key));
                for function in item_functions(&resolve, item) {
                    println!("    func {function}");
                }
            }
        }
    } else if wasmparser::Parser::is_core_wasm(&bytes) {
        println!("core module {} ({} bytes)", file.display(), bytes.len());
        let mut imports = 0;
        for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
            match payload.context("the module does not parse")? {
                wasmparser::Payload::ImportSection(section) => {
                    for import in section.into_imports() {
                        let import = import.context("the import section does not parse")?;
                        println!("  import {}::{}", import.module, import.name);
                        imports += 1;
                    }
                }
                wasmparser::Payload::ExportSection(section) => {
                    for export in section {
                        let export = export.context("the export section does not parse")?;
                        println!("  export {} ({:?})", export.name, export.kind);
                    }
                }
                _ => {}
            }
        }
        if imports == 0 {
            println!("  imports: none");
        }
    } else {
        bail!("`{}` is not a WebAssembly binary", file.display());
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Side {
    Import,
    Export,
}

impl Side {
    fn word(self) -> &'static str {
        match self {
            Side::Import => "import",
            Side::Export => "export",
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))
}

fn decode_component(bytes: &[u8]) -> Result<(Resolve, wit_parser::WorldId)> {
    match wit_component::decode(bytes).context("cannot decode the component's WIT world")? {
        DecodedWasm::Component(resolve, world) => Ok((resolve, world)),
        DecodedWasm::WitPackage(..) => bail!("this is a WIT package, not a component"),
    }
}

fn world_items(
    resolve: &Resolve,
    world: wit_parser::WorldId,
    side: Side,
) -> Result<Vec<(&WorldKey, &WorldItem)>> {
    let world = resolve
        .worlds
        .get(world)
        .context("the decoded world is missing")?;
    let items = match side {
        Side::Import => &world.imports,
        Side::Export => &world.exports,
    };
    Ok(items.iter().collect())
}

fn item_names(resolve: &Resolve, items: Vec<(&WorldKey, &WorldItem)>) -> Vec<String> {
    items
        .into_iter()
        .map(|(key, _)| resolve.name_world_key(key))
        .collect()
}

/// The functions an import or export brings: an interface's functions, or the function itself.
fn item_functions(resolve: &Resolve, item: &WorldItem) -> Vec<String> {
    match item {
        WorldItem::Interface { id, .. } => resolve
            .interfaces
            .get(*id)
            .map(|interface| interface.functions.keys().cloned().collect())
            .unwrap_or_default(),
        WorldItem::Function(function) => vec![function.name.clone()],
        WorldItem::Type { .. } => Vec::new(),
    }
}
