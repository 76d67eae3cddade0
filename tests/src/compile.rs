//! One wasmtime engine per process and a cache of compiled components, so
//! that many test apps (and many test binaries) pay for Cranelift once per
//! `.wasm` build, not once per start.

use anyhow::{Context, Result};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

/// The process-wide engine. Components compiled by it can be shared by all apps.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).expect("wasmtime engine configuration is valid")
    })
}

/// Compiles (or fetches from the memory and disk caches) the component at `path`.
pub fn load_component(path: &Path) -> Result<Component> {
    static MEMORY: OnceLock<Mutex<HashMap<u64, Component>>> = OnceLock::new();
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read component {} (build it with `cargo build --target wasm32-wasip2 --release`)",
            path.display()
        )
    })?;
    let engine = engine();
    let key = {
        let mut h = DefaultHasher::new();
        bytes.hash(&mut h);
        engine.precompile_compatibility_hash().hash(&mut h);
        h.finish()
    };
    let memory = MEMORY.get_or_init(Mutex::default);
    if let Some(c) = memory.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(c.clone());
    }
    // Tests of one binary start apps in parallel; one of them compiles a
    // component while the others wait for it instead of compiling it again.
    static COMPILING: Mutex<()> = Mutex::new(());
    let _turn = COMPILING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = memory.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(c.clone());
    }
    let component = load_or_compile(engine, &bytes, key, path)?;
    memory.lock().unwrap_or_else(|e| e.into_inner()).insert(key, component.clone());
    Ok(component)
}

/// `WEERBAAR_HOST_CACHE`, else `target/weerbaar-host-cache` of this
/// workspace (so `cargo clean` empties it).
fn cache_dir() -> PathBuf {
    std::env::var_os("WEERBAAR_HOST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/weerbaar-host-cache"))
}

fn load_or_compile(engine: &Engine, bytes: &[u8], key: u64, path: &Path) -> Result<Component> {
    let cached = cache_dir().join(format!("{key:016x}.cwasm"));
    if cached.exists() {
        // SAFETY: the file was written by `Component::serialize` of an engine
        // with the same compatibility hash (part of the file name), by this
        // host, in a directory only this host writes.
        if let Ok(c) = unsafe { Component::deserialize_file(engine, &cached) } {
            return Ok(c);
        }
    }
    let component = Component::new(engine, bytes)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot compile component {}", path.display()))?;
    if let Ok(serialized) = component.serialize() {
        // Best effort: a failed cache write only costs a recompile next time.
        let dir = cache_dir();
        if std::fs::create_dir_all(&dir).is_ok() {
            let tmp = dir.join(format!("{key:016x}.{}.tmp", std::process::id()));
            if std::fs::write(&tmp, serialized).is_ok() {
                let _ = std::fs::rename(&tmp, &cached);
            }
        }
    }
    Ok(component)
}
