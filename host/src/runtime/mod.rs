//! The engine as a WebAssembly component, run by wasmtime.
//!
//! [`ComponentEngine`] compiles the component once (the one embedded in this binary, or another
//! build of the same WIT world) and prepares its instantiation. [`PolicyRuntime`] holds the current
//! policy document and a pool of instances that have it loaded: a decision borrows one instance,
//! so one decision always sees one policy set; [`PolicyRuntime::replace`] swaps the document
//! atomically (a decision in flight finishes on the old set, the next one sees the new one).
//! Every call into the guest is bounded by an epoch deadline and a memory limit; a trap becomes an
//! error for the caller and the instance is thrown away.

mod bindings;
mod convert;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use thiserror::Error;
use tollgate_engine::{Decision, Request, ValidationError};
use wasmtime::component::{Component, Linker, ResourceAny};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};

use bindings::wit;

/// The engine component built from component/ and embedded by build.rs.
pub static EMBEDDED_COMPONENT: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/tollgate-engine.component.wasm"));

/// How long one tick of the epoch clock is.
const TICK: Duration = Duration::from_millis(5);

/// Bounds on every call into the guest.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest a policy document may take to load.
    pub load_deadline: Duration,
    /// The longest one decision (or one `decide-many` batch) may take.
    pub decide_deadline: Duration,
    /// The most linear memory an instance may grow to, in bytes.
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            load_deadline: Duration::from_secs(30),
            decide_deadline: Duration::from_millis(250),
            memory_bytes: 1 << 30,
        }
    }
}

/// What can go wrong running the component.
#[derive(Debug, Clone, Error)]
pub enum RuntimeError {
    /// The bytes are not a component of the `tollgate:policy/policy-engine` world.
    #[error("cannot use the engine component: {0}")]
    Component(String),
    /// The policy document is invalid; every error is listed.
    #[error("the policy document has {} error(s)", .0.len())]
    Invalid(Vec<ValidationError>),
    /// The engine could not read the request.
    #[error("invalid request: {0}")]
    Request(String),
    /// The guest trapped, ran past its deadline or out of memory. The instance was discarded.
    #[error("the engine component failed: {0}")]
    Trap(String),
}

/// A compiled engine component, ready to instantiate. Cheap to share.
pub struct ComponentEngine {
    engine: Engine,
    pre: bindings::PolicyEnginePre<StoreState>,
    limits: Limits,
    ticker: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for ComponentEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentEngine")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Per-store data: the memory limiter.
#[derive(Debug)]
pub struct StoreState {
    limits: StoreLimits,
}

impl ComponentEngine {
    /// Compiles the component embedded in this binary.
    pub fn embedded(limits: Limits) -> Result<ComponentEngine, RuntimeError> {
        ComponentEngine::from_bytes(EMBEDDED_COMPONENT, limits)
    }

    /// Compiles an engine component from a file (a custom engine build of the same WIT world).
    pub fn from_file(path: &Path, limits: Limits) -> Result<ComponentEngine, RuntimeError> {
        let bytes = std::fs::read(path).map_err(|e| {
            RuntimeError::Component(format!("cannot read `{}`: {e}", path.display()))
        })?;
        ComponentEngine::from_bytes(&bytes, limits)
    }

    /// Compiles an engine component.
    pub fn from_bytes(bytes: &[u8], limits: Limits) -> Result<ComponentEngine, RuntimeError> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        // For profiling the guest: `perf record` then names its functions (/tmp/perf-PID.map).
        if std::env::var_os("TOLLGATE_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(|e| RuntimeError::Component(format!("{e:#}")))?;
        let component = Component::new(&engine, bytes)
            .map_err(|e| RuntimeError::Component(format!("{e:#}")))?;
        let linker = Linker::<StoreState>::new(&engine);
        let pre = linker
            .instantiate_pre(&component)
            .and_then(bindings::PolicyEnginePre::new)
            .map_err(|e| RuntimeError::Component(format!("{e:#}")))?;
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let engine = engine.clone();
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("tollgate-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| {
                    RuntimeError::Component(format!("cannot start the epoch clock: {e}"))
                })?
        };
        Ok(ComponentEngine {
            engine,
            pre,
            limits,
            ticker: Some(ticker),
            stop,
        })
    }

    /// Instantiates the component and loads a policy document into the new instance.
    pub fn load(&self, document: &str) -> Result<LoadedSet, RuntimeError> {
        let mut store = Store::new(
            &self.engine,
            StoreState {
                limits: StoreLimitsBuilder::new()
                    .memory_size(self.limits.memory_bytes)
                    .instances(16)
                    .trap_on_grow_failure(true)
                    .build(),
            },
        );
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(ticks(self.limits.load_deadline));
        let instance = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| RuntimeError::Trap(format!("{e:#}")))?;
        let loaded = instance
            .tollgate_policy_engine()
            .policy_set()
            .call_load(&mut store, document)
            .map_err(|e| RuntimeError::Trap(format!("{e:#}")))?;
        match loaded {
            Ok(set) => Ok(LoadedSet {
                store,
                instance,
                set,
                decide_deadline: ticks(self.limits.decide_deadline),
                packer: convert::Packer::default(),
            }),
            Err(errors) => Err(RuntimeError::Invalid(
                errors
                    .into_iter()
                    .map(|e| ValidationError {
                        path: e.path,
                        message: e.message,
                    })
                    .collect(),
            )),
        }
    }
}

impl Drop for ComponentEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

fn ticks(d: Duration) -> u64 {
    (d.as_millis() / TICK.as_millis())
        .max(1)
        .try_into()
        .unwrap_or(u64::MAX)
}

/// One instance with a policy document loaded.
pub struct LoadedSet {
    store: Store<StoreState>,
    instance: bindings::PolicyEngine,
    set: ResourceAny,
    decide_deadline: u64,
    /// The compact request's buffers, reused by every decision on this instance.
    packer: convert::Packer,
}

impl std::fmt::Debug for LoadedSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedSet").finish_non_exhaustive()
    }
}

impl LoadedSet {
    /// Decides one request, through the compact form of the request and the decision
    /// (`decide-compact`): two blocks lowered into the guest, not one per string and list.
    /// After an `Err(RuntimeError::Trap)` the instance must not be used again.
    pub fn decide(&mut self, request: &Request) -> Result<Decision<'static>, RuntimeError> {
        let LoadedSet {
            store,
            instance,
            set,
            decide_deadline,
            packer,
        } = self;
        let compact = packer.pack(request).map_err(RuntimeError::Request)?;
        store.set_epoch_deadline(*decide_deadline);
        let answer = instance
            .tollgate_policy_engine()
            .policy_set()
            .call_decide_compact(&mut *store, *set, compact)
            .map_err(|e| RuntimeError::Trap(format!("{e:#}")))?;
        match answer {
            Ok(decision) => convert::decision_from_compact(&decision).map_err(RuntimeError::Trap),
            Err(message) => Err(RuntimeError::Request(message)),
        }
    }

    /// Decides one request through the typed records (`decide`), as a host built from the WIT
    /// alone would. The same decision as [`LoadedSet::decide`]; kept for the tests and the
    /// benchmark that compare the two forms.
    pub fn decide_typed(&mut self, request: &Request) -> Result<Decision<'static>, RuntimeError> {
        let staged = convert::Staged::new(request);
        let allowed = staged.allowed();
        let request = staged.request(allowed.as_deref());
        self.store.set_epoch_deadline(self.decide_deadline);
        let answer = self
            .instance
            .tollgate_policy_engine()
            .policy_set()
            .call_decide(&mut self.store, self.set, request)
            .map_err(|e| RuntimeError::Trap(format!("{e:#}")))?;
        answer
            .map(convert::decision_from_wit)
            .map_err(RuntimeError::Request)
    }

    /// Decides several requests in one call into the guest.
    pub fn decide_many(
        &mut self,
        requests: &[Request],
    ) -> Result<Vec<Result<Decision<'static>, RuntimeError>>, RuntimeError> {
        let staged: Vec<convert::Staged<'_>> = requests.iter().map(convert::Staged::new).collect();
        let allowed: Vec<_> = staged.iter().map(convert::Staged::allowed).collect();
        let requests: Vec<wit::Request<'_>> = staged
            .iter()
            .zip(&allowed)
            .map(|(s, a)| s.request(a.as_deref()))
            .collect();
        self.store.set_epoch_deadline(self.decide_deadline);
        let answers = self
            .instance
            .tollgate_policy_engine()
            .policy_set()
            .call_decide_many(&mut self.store, self.set, &requests)
            .map_err(|e| RuntimeError::Trap(format!("{e:#}")))?;
        Ok(answers
            .into_iter()
            .map(|a| {
                a.map(convert::decision_from_wit)
                    .map_err(RuntimeError::Request)
            })
            .collect())
    }
}

/// A policy document version: what the instances in the pool have loaded. `number` counts this
/// runtime's loads; `label` is the version decisions report (the store-wide version when the
/// server sets it, the same number otherwise).
#[derive(Debug)]
struct Version {
    number: u64,
    label: u64,
    document: Arc<str>,
}

/// The current policy set, shared by every worker: a pool of loaded instances and an atomic swap.
#[derive(Debug)]
pub struct PolicyRuntime {
    engine: Arc<ComponentEngine>,
    current: RwLock<Arc<Version>>,
    pool: Mutex<Vec<(u64, LoadedSet)>>,
    next_version: AtomicU64,
}

impl PolicyRuntime {
    /// Loads the first policy document. Its instance becomes the first of the pool.
    pub fn new(
        engine: Arc<ComponentEngine>,
        document: &str,
    ) -> Result<PolicyRuntime, RuntimeError> {
        let loaded = engine.load(document)?;
        Ok(PolicyRuntime {
            engine,
            current: RwLock::new(Arc::new(Version {
                number: 1,
                label: 1,
                document: document.into(),
            })),
            pool: Mutex::new(vec![(1, loaded)]),
            next_version: AtomicU64::new(2),
        })
    }

    /// The current policy-set version (1 for the first document, then one more per replacement,
    /// unless labelled otherwise).
    pub fn version(&self) -> u64 {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .label
    }

    /// Replaces the policy document. It is loaded first: an invalid document changes nothing.
    /// Returns the new version.
    pub fn replace(&self, document: &str) -> Result<u64, RuntimeError> {
        self.replace_labelled(document, None)
    }

    /// Replaces the policy document, reporting `label` as its version.
    pub fn replace_as(&self, document: &str, label: u64) -> Result<u64, RuntimeError> {
        self.replace_labelled(document, Some(label))
    }

    /// Reports `label` as the current policy set's version from now on (the store-wide version
    /// moved on, the policies did not change).
    pub fn relabel(&self, label: u64) {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        *current = Arc::new(Version {
            number: current.number,
            label,
            document: Arc::clone(&current.document),
        });
    }

    fn replace_labelled(&self, document: &str, label: Option<u64>) -> Result<u64, RuntimeError> {
        let loaded = self.engine.load(document)?;
        let number = self.next_version.fetch_add(1, Ordering::Relaxed);
        let label = label.unwrap_or(number);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(Version {
            number,
            label,
            document: document.into(),
        });
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        pool.retain(|(v, _)| *v == number);
        pool.push((number, loaded));
        Ok(label)
    }

    /// Decides one request on the current policy set; returns the decision and the version that
    /// made it.
    pub fn decide(&self, request: &Request) -> Result<(Decision<'static>, u64), RuntimeError> {
        self.with_instance(|set| set.decide(request))
    }

    /// Decides several requests in one call, all on the same policy-set version.
    pub fn decide_many(
        &self,
        requests: &[Request],
    ) -> Result<(Vec<Result<Decision<'static>, RuntimeError>>, u64), RuntimeError> {
        self.with_instance(|set| set.decide_many(requests))
    }

    fn with_instance<T>(
        &self,
        call: impl FnOnce(&mut LoadedSet) -> Result<T, RuntimeError>,
    ) -> Result<(T, u64), RuntimeError> {
        let version = Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner));
        let pooled = {
            let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
            // Instances of older versions are dropped as they are met.
            pool.retain(|(v, _)| *v >= version.number);
            pool.iter()
                .position(|(v, _)| *v == version.number)
                .map(|i| pool.swap_remove(i).1)
        };
        let mut set = match pooled {
            Some(set) => set,
            None => self.engine.load(&version.document)?,
        };
        match call(&mut set) {
            Err(e @ RuntimeError::Trap(_)) => Err(e), // the instance is dropped here
            other => {
                let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
                let latest = self
                    .current
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .number;
                if latest == version.number {
                    pool.push((version.number, set));
                }
                other.map(|t| (t, version.label))
            }
        }
    }
}
