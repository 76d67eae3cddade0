//! Spin's Redis store: the commands Spin's own Redis backend sends, on a real
//! redis-server, with the answers Spin gives its guests (`docs/spin-kv.md`,
//! "The Redis backend, command by command"). Labels are ignored, as in Spin: two
//! labels on one Redis URL share one keyspace.

use super::{Found, HostError};
use anyhow::{Context, Result};
use redis::{Connection, Value};
use std::sync::Mutex;

/// A connection pool on one Redis database (the URL may name one: `redis://host:port/3`).
pub struct RedisStore {
    client: redis::Client,
    idle: Mutex<Vec<Connection>>,
}

/// A compare-and-swap in progress: Spin opens a connection of its own for each.
pub struct RedisCas {
    conn: Connection,
}

fn text(e: redis::RedisError) -> String {
    e.to_string()
}

impl RedisStore {
    pub fn open(url: &str) -> Result<RedisStore> {
        let client = redis::Client::open(url).with_context(|| "invalid Redis URL for the key-value store")?;
        let conn = client.get_connection().with_context(|| "cannot connect to the key-value Redis")?;
        Ok(RedisStore { client, idle: Mutex::new(vec![conn]) })
    }

    /// Runs `f` on a pooled connection; a connection that failed is not reused.
    fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> redis::RedisResult<T>) -> Result<T, String> {
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.client.get_connection().map_err(text)?,
        };
        let out = f(&mut conn);
        let broken = matches!(&out, Err(e) if e.is_io_error() || e.is_connection_dropped());
        if !broken {
            self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
        }
        out.map_err(text)
    }

    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.with_conn(|c| redis::cmd("GET").arg(key).query(c))
    }

    pub fn exists(&self, key: &str) -> Result<bool, String> {
        self.with_conn(|c| redis::cmd("EXISTS").arg(key).query(c))
    }

    pub fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        self.with_conn(|c| redis::cmd("SET").arg(key).arg(value).query(c))
    }

    pub fn delete(&self, key: &str) -> Result<(), String> {
        self.with_conn(|c| redis::cmd("DEL").arg(key).query(c))
    }

    /// `KEYS *`: every key of the database, whatever label wrote it.
    pub fn keys(&self) -> Result<Vec<String>, String> {
        let mut keys: Vec<String> = self.with_conn(|c| redis::cmd("KEYS").arg("*").query(c))?;
        keys.sort();
        Ok(keys)
    }

    /// Every entry of the database, for tests to inspect (not a guest operation).
    pub fn dump(&self) -> Result<Vec<(String, Vec<u8>)>, String> {
        let keys = self.keys()?;
        let mut entries = Vec::with_capacity(keys.len());
        for key in keys {
            // A key deleted between KEYS and GET is simply gone.
            if let Some(value) = self.get(&key)? {
                entries.push((key, value));
            }
        }
        Ok(entries)
    }

    /// What Spin does: `KEYS k1 k2 ...` instead of `MGET`. Two or more keys are
    /// a Redis error the guest sees; one present key makes Spin's host panic
    /// (it cannot read the key names as key-value pairs), which kills the
    /// request; one absent key answers an empty list.
    pub fn get_many(&self, keys: &[String]) -> Result<Vec<Found>, HostError> {
        let reply: Value = self
            .with_conn(|c| {
                let mut cmd = redis::cmd("KEYS");
                for k in keys {
                    cmd.arg(k);
                }
                cmd.query(c)
            })
            .map_err(HostError::Guest)?;
        match reply {
            Value::Array(found) if found.is_empty() => Ok(Vec::new()),
            other => Err(HostError::Trap(format!(
                "Spin's Redis get_many panics: a KEYS reply ({other:?}) is not a list of key-value pairs"
            ))),
        }
    }

    /// One `MSET`: atomic.
    pub fn set_many(&self, pairs: &[(String, Vec<u8>)]) -> Result<(), String> {
        self.with_conn(|c| {
            let mut cmd = redis::cmd("MSET");
            for (k, v) in pairs {
                cmd.arg(k).arg(v.as_slice());
            }
            cmd.query(c)
        })
    }

    /// One `DEL k1 k2 ...`.
    pub fn delete_many(&self, keys: &[String]) -> Result<(), String> {
        self.with_conn(|c| {
            let mut cmd = redis::cmd("DEL");
            for k in keys {
                cmd.arg(k);
            }
            cmd.query(c)
        })
    }

    /// `INCRBY`: counters are ASCII digits, and a non-number is an error the
    /// guest sees (not a trap, unlike SQLite).
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64, HostError> {
        self.with_conn(|c| redis::cmd("INCRBY").arg(key).arg(delta).query(c)).map_err(HostError::Guest)
    }

    /// `Cas::new`: a new connection for this compare-and-swap.
    pub fn cas_new(&self) -> Result<RedisCas, String> {
        Ok(RedisCas { conn: self.client.get_connection().map_err(text)? })
    }
}

impl RedisCas {
    /// `cas.current()`: `WATCH key`, then `GET key`.
    pub fn current(&mut self, key: &str) -> Result<Option<Vec<u8>>, String> {
        redis::cmd("WATCH").arg(key).exec(&mut self.conn).map_err(text)?;
        redis::cmd("GET").arg(key).query(&mut self.conn).map_err(text)
    }

    /// `swap`: `MULTI`, `SET`, `EXEC`, `UNWATCH`. Redis applies the SET unless
    /// a watched key changed (and unconditionally if `current()` was never
    /// called); Spin reports `cas-failed` either way, since the EXEC reply does
    /// not parse as it expects: the guest never learns whether it applied.
    pub fn swap(&mut self, key: &str, value: &[u8]) -> Result<(), String> {
        redis::cmd("MULTI").exec(&mut self.conn).map_err(text)?;
        redis::cmd("SET").arg(key).arg(value).exec(&mut self.conn).map_err(text)?;
        redis::cmd("EXEC").query::<Value>(&mut self.conn).map_err(text)?;
        redis::cmd("UNWATCH").exec(&mut self.conn).map_err(text)
    }
}
