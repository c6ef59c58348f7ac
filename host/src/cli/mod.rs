//! Command-line interface.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use tollgate_engine::{LoadError, PolicySet, ValidationError};

use crate::admin::reach;
use crate::config::ServerConfig;
use crate::{policy_test, runtime, server};

pub mod keys;

/// Tollgate decides, at the token boundary, which scopes and credentials an app or agent receives.
#[derive(Debug, Parser)]
#[command(name = "tollgate", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decide one request against a policy document and print the decision JSON.
    Decide {
        /// The policy document (JSON or YAML).
        #[arg(long, value_name = "FILE")]
        policies: PathBuf,
        /// The request (JSON), or `-` for standard input.
        #[arg(long, value_name = "FILE")]
        request: PathBuf,
        /// Which build of the engine decides.
        #[arg(long, value_enum, default_value_t = Engine::Native)]
        engine: Engine,
        /// With `--engine component`: another build of the engine component (same WIT world)
        /// instead of the one embedded in this binary.
        #[arg(long, value_name = "FILE", requires = "engine")]
        engine_component: Option<PathBuf>,
    },
    /// Check and test policy documents.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Run the OAuth authorization server.
    Serve {
        /// The configuration file (YAML or JSON).
        #[arg(long, value_name = "FILE", env = "TOLLGATE_CONFIG")]
        config: PathBuf,
        /// Which build of the engine decides: the embedded component (default) or native.
        #[arg(long, value_enum, default_value_t = Engine::Component)]
        engine: Engine,
        /// Another build of the engine component (same WIT world) instead of the embedded one.
        #[arg(long, value_name = "FILE")]
        engine_component: Option<PathBuf>,
    },
    /// Manage signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage the vault of connection credentials.
    Vault {
        #[command(subcommand)]
        command: VaultCommand,
    },
}

#[derive(Debug, Subcommand)]
enum VaultCommand {
    /// Re-encrypt every credential with a new key, all or nothing. The current key comes from
    /// TOLLGATE_VAULT_KEY or `vault.keyFile`; start the server with the new key afterwards.
    RotateKey {
        /// The server's configuration file.
        #[arg(long, value_name = "FILE", env = "TOLLGATE_CONFIG")]
        config: PathBuf,
        /// The new key (base64 of 32 bytes); generated into this file (mode 0600) when missing.
        #[arg(long, value_name = "FILE")]
        new_key_file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Make a new signing key active; retired keys stay published until their tokens expire.
    Rotate {
        /// The server's configuration file.
        #[arg(long, value_name = "FILE", env = "TOLLGATE_CONFIG")]
        config: PathBuf,
        /// The new key's algorithm (default: the configured one): ES256, RS256 or EdDSA.
        #[arg(long, value_parser = signing_algorithm)]
        algorithm: Option<crate::config::SigningAlgorithm>,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Validate a policy document: print every error with its path; exit non-zero on any.
    Validate {
        /// The policy document (JSON or YAML).
        file: PathBuf,
    },
    /// Run policy test files (a document, requests and expected decisions) and print a table.
    Test {
        /// Test files (YAML or JSON).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// What a client can obtain (`--client`, with `--user`, `--grant-type`), or who can obtain a
    /// scope (`--target`, `--scope`), over the clients, users and policies of a server
    /// configuration file; prints the JSON `POST /admin/reach` answers.
    Reach {
        /// The server configuration file (YAML or JSON).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The client whose reach to list.
        #[arg(long, value_name = "ID", conflicts_with_all = ["target", "scope"], required_unless_present = "target")]
        client: Option<String>,
        /// With this user (`sub`); without: requests without a user.
        #[arg(long, value_name = "SUB", requires = "client")]
        user: Option<String>,
        /// Only this grant type (client_credentials, authorization_code, token_exchange,
        /// jwt_bearer).
        #[arg(long, value_name = "GRANT", requires = "client", value_parser = grant_type)]
        grant_type: Option<tollgate_engine::GrantType>,
        /// The target whose holders to list (a resource or connection id).
        #[arg(long, value_name = "ID")]
        target: Option<String>,
        /// The scope on that target (none for a scope-less connection).
        #[arg(long, value_name = "SCOPE", requires = "target")]
        scope: Option<String>,
    },
}

/// The engine build that decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Engine {
    /// The engine compiled into this binary.
    Native,
    /// The engine as a WebAssembly component, run by wasmtime (the server's default).
    Component,
}

impl Cli {
    /// Runs the command; errors are printed to stderr.
    pub fn run(self) -> ExitCode {
        match self.command.run() {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    }
}

impl Command {
    fn run(self) -> anyhow::Result<ExitCode> {
        match self {
            Command::Decide {
                policies,
                request,
                engine,
                engine_component,
            } => {
                let text = read(&request)?;
                let parsed = tollgate_engine::parse_request(&text)
                    .with_context(|| format!("cannot decide `{}`", request.display()))?;
                let decision = match engine {
                    Engine::Native => load(&policies)?.decide(&parsed).into_owned(),
                    Engine::Component => {
                        let limits = runtime::Limits::default();
                        let compiled = match &engine_component {
                            Some(file) => runtime::ComponentEngine::from_file(file, limits),
                            None => runtime::ComponentEngine::embedded(limits),
                        }?;
                        let document = read(&policies)?;
                        let mut set = compiled.load(&document).map_err(|e| match e {
                            runtime::RuntimeError::Invalid(errors) => {
                                print_errors(&policies, &errors);
                                anyhow::anyhow!(
                                    "`{}` is not a valid policy document",
                                    policies.display()
                                )
                            }
                            other => other.into(),
                        })?;
                        set.decide(&parsed)?
                    }
                };
                println!("{}", serde_json::to_string_pretty(&decision)?);
                Ok(ExitCode::SUCCESS)
            }
            Command::Serve {
                config,
                engine,
                engine_component,
            } => {
                init_tracing();
                let choice = match (engine, engine_component) {
                    (Engine::Native, _) => server::EngineChoice::Native,
                    (Engine::Component, Some(file)) => server::EngineChoice::ComponentFile(file),
                    (Engine::Component, None) => server::EngineChoice::Component,
                };
                runtime_tokio()?.block_on(server::serve(&config, choice))?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Keys {
                command: KeysCommand::Rotate { config, algorithm },
            } => {
                let kid = runtime_tokio()?.block_on(keys::rotate_keys(&config, algorithm))?;
                println!(
                    "new signing key `{kid}` is active; the previous one stays published until its tokens expire"
                );
                Ok(ExitCode::SUCCESS)
            }
            Command::Vault {
                command:
                    VaultCommand::RotateKey {
                        config,
                        new_key_file,
                    },
            } => {
                let (n, id) =
                    runtime_tokio()?.block_on(keys::rotate_vault_key(&config, &new_key_file))?;
                println!(
                    "re-encrypted {n} credential(s) with vault key {id} from `{}`; start the server with that key \
                     (vault.keyFile or TOLLGATE_VAULT_KEY)",
                    new_key_file.display()
                );
                Ok(ExitCode::SUCCESS)
            }
            Command::Policy {
                command: PolicyCommand::Validate { file },
            } => {
                let text = read(&file)?;
                match PolicySet::load(&text) {
                    Ok(set) => {
                        println!("{}: valid ({} policies)", file.display(), set.len());
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(e) => {
                        print_load_error(&file, &e);
                        Ok(ExitCode::FAILURE)
                    }
                }
            }
            Command::Policy {
                command:
                    PolicyCommand::Reach {
                        config,
                        client,
                        user,
                        grant_type,
                        target,
                        scope,
                    },
            } => {
                let config = ServerConfig::from_file(&config)?;
                let set = PolicySet::from_value(config.document()).map_err(|e| {
                    print_load_error(Path::new("the configuration's policies"), &e);
                    anyhow::anyhow!("the configuration's policy document is not valid")
                })?;
                let (clients, users) = reach::sorted(config.clients.iter(), config.users.iter());
                let query = reach::ReachQuery {
                    client,
                    user,
                    grant_type,
                    target: target.map(reach::TargetRef::Id),
                    scope,
                };
                let entities = reach::Entities {
                    clients: &clients,
                    users: &users,
                };
                match reach::answer(&set, entities, &query) {
                    Ok(answer) => {
                        println!("{}", serde_json::to_string_pretty(&answer)?);
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        Ok(ExitCode::FAILURE)
                    }
                }
            }
            Command::Policy {
                command: PolicyCommand::Test { files },
            } => {
                let mut report = policy_test::Report::default();
                for file in &files {
                    let text = read(file)?;
                    report.run_file(&file.display().to_string(), &text);
                }
                print!("{}", report.table());
                Ok(if report.failed() == 0 {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
        }
    }
}

fn runtime_tokio() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOLLGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: a log redirected to a file stays greppable.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

fn read(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        return std::io::read_to_string(std::io::stdin()).context("cannot read standard input");
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))
}

fn load(path: &Path) -> anyhow::Result<PolicySet> {
    let text = read(path)?;
    PolicySet::load(&text).map_err(|e| {
        print_load_error(path, &e);
        anyhow::anyhow!("`{}` is not a valid policy document", path.display())
    })
}

fn print_load_error(path: &Path, error: &LoadError) {
    print_errors(path, &error.errors());
}

fn print_errors(path: &Path, errors: &[ValidationError]) {
    eprintln!(
        "{}: {} error{}",
        path.display(),
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
    for e in errors {
        if e.path.is_empty() {
            eprintln!("  {}", e.message);
        } else {
            eprintln!("  {}: {}", e.path, e.message);
        }
    }
}

/// Reads `--grant-type`.
fn grant_type(name: &str) -> Result<tollgate_engine::GrantType, String> {
    tollgate_engine::GrantType::from_name(name).ok_or_else(|| {
        format!("`{name}` is not one of client_credentials, authorization_code, token_exchange, jwt_bearer")
    })
}

/// Reads `--algorithm`.
fn signing_algorithm(name: &str) -> Result<crate::config::SigningAlgorithm, String> {
    crate::config::SigningAlgorithm::from_name(name)
        .ok_or_else(|| format!("`{name}` is not one of ES256, RS256, EdDSA"))
}
