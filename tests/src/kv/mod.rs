//! Key-value for guests: `fermyon:spin/key-value@2.0.0` and
//! `wasi:keyvalue/{store,atomics,batch}@0.2.0-draft2` over one store, so both
//! interfaces see the same data under the same label. The store is Spin's
//! SQLite backend or Spin's Redis backend on a real redis-server.

mod redis;
mod redis_server;
mod sqlite;
mod store;

pub use redis_server::RedisServer;
pub use store::{
    count_commits, CasState, Expectation, Found, HostError, KvStore, OpKind, Refusal, StoreBacking, StoreOp,
    StoreSession, SwapReport, WriteFault,
};

use crate::wit::fermyon::spin::key_value as spin_kv;
use crate::wit::wasi::keyvalue::{atomics, batch, store as wasi_kv};
use std::collections::HashSet;
use std::sync::Arc;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

/// What one component may do with the store; shared by its requests.
#[derive(Clone)]
pub struct KvGrant {
    /// The component's id, for the record of store operations.
    pub component: Arc<str>,
    pub store: Arc<KvStore>,
    /// The component's `key_value_stores`.
    pub allowed: Arc<HashSet<String>>,
    /// Labels the app defines (`default` plus configured ones).
    pub defined: Arc<HashSet<String>>,
}

/// An opened `fermyon:spin/key-value` store.
pub struct SpinStore {
    label: String,
}

/// An opened `wasi:keyvalue` bucket.
pub struct Bucket {
    label: String,
}

/// A `wasi:keyvalue/atomics.cas` handle: the key and the backend's state.
pub struct CasHandle {
    label: String,
    key: String,
    state: CasState,
}

/// The per-request view the generated host traits are implemented on.
pub struct KvView<'a> {
    pub grant: &'a KvGrant,
    pub table: &'a mut ResourceTable,
}

/// Marker for `add_to_linker`: the data handed to key-value host functions.
pub struct KvData;

impl HasData for KvData {
    type Data<'a> = KvView<'a>;
}

/// Adds both key-value interfaces to the linker.
pub fn add_to_linker<T: 'static>(linker: &mut Linker<T>, view: fn(&mut T) -> KvView<'_>) -> anyhow::Result<()> {
    spin_kv::add_to_linker::<T, KvData>(linker, view)?;
    wasi_kv::add_to_linker::<T, KvData>(linker, view)?;
    atomics::add_to_linker::<T, KvData>(linker, view)?;
    batch::add_to_linker::<T, KvData>(linker, view)?;
    Ok(())
}

/// Why a label cannot be opened, in neutral terms for both interfaces.
enum OpenRefusal {
    AccessDenied,
    NoSuchStore,
}

impl KvView<'_> {
    fn check_label(&self, label: &str) -> Result<(), OpenRefusal> {
        // Spin checks the component's grant first: an unlisted label is
        // refused whether or not the app defines it.
        if !self.grant.allowed.contains(label) {
            return Err(OpenRefusal::AccessDenied);
        }
        if !self.grant.defined.contains(label) {
            return Err(OpenRefusal::NoSuchStore);
        }
        Ok(())
    }

    fn spin_label(&self, r: &Resource<SpinStore>) -> wasmtime::Result<String> {
        Ok(self.table.get(r)?.label.clone())
    }

    fn bucket_label(&self, r: &Resource<Bucket>) -> wasmtime::Result<String> {
        Ok(self.table.get(r)?.label.clone())
    }

    fn store(&self) -> &KvStore {
        &self.grant.store
    }

    /// Notes one operation on `key` for the benchmark's count.
    fn note(&self, kind: OpKind, key: &str) {
        self.grant.store.note(&self.grant.component, kind, [key]);
    }
}

type Trappable<T, E> = wasmtime::Result<Result<T, E>>;

/// An error the guest sees, or a trap where Spin's host panics.
fn wasi_result<T>(r: Result<T, HostError>) -> Trappable<T, wasi_kv::Error> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(HostError::Guest(e)) => Ok(Err(wasi_kv::Error::Other(e))),
        Err(HostError::Trap(msg)) => Err(wasmtime::format_err!("{msg}")),
    }
}

impl spin_kv::Host for KvView<'_> {}

impl spin_kv::HostStore for KvView<'_> {
    fn open(&mut self, label: String) -> Trappable<Resource<SpinStore>, spin_kv::Error> {
        match self.check_label(&label) {
            Ok(()) => Ok(Ok(self.table.push(SpinStore { label })?)),
            Err(OpenRefusal::AccessDenied) => Ok(Err(spin_kv::Error::AccessDenied)),
            Err(OpenRefusal::NoSuchStore) => Ok(Err(spin_kv::Error::NoSuchStore)),
        }
    }

    fn get(&mut self, s: Resource<SpinStore>, key: String) -> Trappable<Option<Vec<u8>>, spin_kv::Error> {
        self.note(OpKind::Read, &key);
        let label = self.spin_label(&s)?;
        Ok(self.store().get(&label, &key).map_err(spin_kv::Error::Other))
    }

    fn set(&mut self, s: Resource<SpinStore>, key: String, value: Vec<u8>) -> Trappable<(), spin_kv::Error> {
        self.note(OpKind::Write, &key);
        let label = self.spin_label(&s)?;
        if let Some(trap) = self.store().trap([&key]) {
            return Err(wasmtime::format_err!("{trap}"));
        }
        Ok(self.store().set(&label, &key, &value).map_err(spin_kv::Error::Other))
    }

    fn delete(&mut self, s: Resource<SpinStore>, key: String) -> Trappable<(), spin_kv::Error> {
        self.note(OpKind::Write, &key);
        let label = self.spin_label(&s)?;
        Ok(self.store().delete(&label, &key).map_err(spin_kv::Error::Other))
    }

    fn exists(&mut self, s: Resource<SpinStore>, key: String) -> Trappable<bool, spin_kv::Error> {
        self.note(OpKind::Read, &key);
        let label = self.spin_label(&s)?;
        Ok(self.store().exists(&label, &key).map_err(spin_kv::Error::Other))
    }

    fn get_keys(&mut self, s: Resource<SpinStore>) -> Trappable<Vec<String>, spin_kv::Error> {
        self.note(OpKind::ListKeys, "");
        let label = self.spin_label(&s)?;
        Ok(self.store().keys(&label).map_err(spin_kv::Error::Other))
    }

    fn drop(&mut self, s: Resource<SpinStore>) -> wasmtime::Result<()> {
        self.table.delete(s)?;
        Ok(())
    }
}

impl wasi_kv::Host for KvView<'_> {
    fn open(&mut self, label: String) -> Trappable<Resource<Bucket>, wasi_kv::Error> {
        match self.check_label(&label) {
            Ok(()) => Ok(Ok(self.table.push(Bucket { label })?)),
            Err(OpenRefusal::AccessDenied) => Ok(Err(wasi_kv::Error::AccessDenied)),
            Err(OpenRefusal::NoSuchStore) => Ok(Err(wasi_kv::Error::NoSuchStore)),
        }
    }
}

impl wasi_kv::HostBucket for KvView<'_> {
    fn get(&mut self, b: Resource<Bucket>, key: String) -> Trappable<Option<Vec<u8>>, wasi_kv::Error> {
        self.note(OpKind::Read, &key);
        let label = self.bucket_label(&b)?;
        Ok(self.store().get(&label, &key).map_err(wasi_kv::Error::Other))
    }

    fn set(&mut self, b: Resource<Bucket>, key: String, value: Vec<u8>) -> Trappable<(), wasi_kv::Error> {
        self.note(OpKind::Write, &key);
        let label = self.bucket_label(&b)?;
        if let Some(trap) = self.store().trap([&key]) {
            return Err(wasmtime::format_err!("{trap}"));
        }
        Ok(self.store().set(&label, &key, &value).map_err(wasi_kv::Error::Other))
    }

    fn delete(&mut self, b: Resource<Bucket>, key: String) -> Trappable<(), wasi_kv::Error> {
        self.note(OpKind::Write, &key);
        let label = self.bucket_label(&b)?;
        Ok(self.store().delete(&label, &key).map_err(wasi_kv::Error::Other))
    }

    fn exists(&mut self, b: Resource<Bucket>, key: String) -> Trappable<bool, wasi_kv::Error> {
        self.note(OpKind::Read, &key);
        let label = self.bucket_label(&b)?;
        Ok(self.store().exists(&label, &key).map_err(wasi_kv::Error::Other))
    }

    fn list_keys(
        &mut self,
        b: Resource<Bucket>,
        cursor: Option<String>,
    ) -> Trappable<wasi_kv::KeyResponse, wasi_kv::Error> {
        self.note(OpKind::ListKeys, "");
        if cursor.is_some() {
            return Ok(Err(wasi_kv::Error::Other("list-keys: cursors are not supported".to_string())));
        }
        let label = self.bucket_label(&b)?;
        Ok(self
            .store()
            .keys(&label)
            .map(|keys| wasi_kv::KeyResponse { keys, cursor: None })
            .map_err(wasi_kv::Error::Other))
    }

    fn drop(&mut self, b: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(b)?;
        Ok(())
    }
}

impl atomics::Host for KvView<'_> {
    fn increment(&mut self, b: Resource<Bucket>, key: String, delta: i64) -> Trappable<i64, wasi_kv::Error> {
        self.note(if delta == 0 { OpKind::CounterRead } else { OpKind::Increment }, &key);
        let label = self.bucket_label(&b)?;
        wasi_result(self.store().increment(&label, &key, delta))
    }

    fn swap(&mut self, cas: Resource<CasHandle>, value: Vec<u8>) -> Trappable<(), atomics::CasError> {
        let CasHandle { label, key, state } = self.table.delete(cas)?;
        self.note(OpKind::Cas, &key);
        match self.store().cas_swap(&label, &key, state, &value) {
            Ok(SwapReport::Ok) => Ok(Ok(())),
            // The guest gets a handle on the same key back to retry with.
            Ok(SwapReport::CasFailed(state)) => {
                let retry = self.table.push(CasHandle { label, key, state })?;
                Ok(Err(atomics::CasError::CasFailed(retry)))
            }
            Err(e) => Ok(Err(atomics::CasError::StoreError(wasi_kv::Error::Other(e)))),
        }
    }
}

impl atomics::HostCas for KvView<'_> {
    fn new(&mut self, b: Resource<Bucket>, key: String) -> Trappable<Resource<CasHandle>, wasi_kv::Error> {
        let label = self.bucket_label(&b)?;
        let state = match self.store().cas_new() {
            Ok(state) => state,
            Err(e) => return Ok(Err(wasi_kv::Error::Other(e))),
        };
        Ok(Ok(self.table.push(CasHandle { label, key, state })?))
    }

    fn current(&mut self, cas: Resource<CasHandle>) -> Trappable<Option<Vec<u8>>, wasi_kv::Error> {
        let key = self.table.get(&cas)?.key.clone();
        self.note(OpKind::Read, &key);
        let store = self.grant.store.clone();
        let handle = self.table.get_mut(&cas)?;
        Ok(store.cas_current(&handle.label, &handle.key, &mut handle.state).map_err(wasi_kv::Error::Other))
    }

    fn drop(&mut self, cas: Resource<CasHandle>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for KvView<'_> {
    fn get_many(
        &mut self,
        b: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Trappable<Vec<(String, Option<Vec<u8>>)>, wasi_kv::Error> {
        self.grant.store.note(&self.grant.component, OpKind::Read, keys.iter().map(String::as_str));
        let label = self.bucket_label(&b)?;
        wasi_result(self.store().get_many(&label, &keys))
    }

    fn set_many(&mut self, b: Resource<Bucket>, pairs: Vec<(String, Vec<u8>)>) -> Trappable<(), wasi_kv::Error> {
        self.grant.store.note(&self.grant.component, OpKind::Write, pairs.iter().map(|(k, _)| k.as_str()));
        let label = self.bucket_label(&b)?;
        if let Some(trap) = self.store().trap(pairs.iter().map(|(k, _)| k)) {
            return Err(wasmtime::format_err!("{trap}"));
        }
        Ok(self.store().set_many(&label, &pairs).map_err(wasi_kv::Error::Other))
    }

    fn delete_many(&mut self, b: Resource<Bucket>, keys: Vec<String>) -> Trappable<(), wasi_kv::Error> {
        self.grant.store.note(&self.grant.component, OpKind::Write, keys.iter().map(String::as_str));
        let label = self.bucket_label(&b)?;
        Ok(self.store().delete_many(&label, &keys).map_err(wasi_kv::Error::Other))
    }
}
