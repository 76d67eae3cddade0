//! `weerbaar-host`: run a `spin.toml` on the test host by hand, like `spin up`.

use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::path::PathBuf;
use weerbaar_tests::{Options, StoreBacking, TestApp};

const USAGE: &str = "\
usage: weerbaar-host [options]
  -f, --from <spin.toml>        manifest (default: the workspace's spin.toml)
  -c, --component-id <id>       run only this component (repeatable)
      --listen <addr:port>      listen address (default 127.0.0.1:3000)
      --variable <name=value>   set an application variable (repeatable)
      --kv-file <path>          key-value SQLite file (default: <manifest dir>/.spin/sqlite_key_value.db)
      --kv-memory               keep key-value data in memory only
      --store-label <label>     define a store label besides `default` (repeatable)
      --kv-redis <url>          key-value on Redis, as Spin's Redis store (redis://host:port[/db])
Variables are also read from SPIN_VARIABLE_<NAME> and from .env beside the manifest.
Build the components first: cargo build --target wasm32-wasip2 --release --workspace --exclude weerbaar-tests";

fn main() -> Result<()> {
    let mut options = Options::new(weerbaar_tests::project_manifest());
    options.dotenv = true;
    options.listen = SocketAddr::from(([127, 0, 0, 1], 3000));
    let mut kv: Option<StoreBacking> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |what: &str| args.next().with_context(|| format!("{arg} needs {what}\n{USAGE}"));
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            "-f" | "--from" => options.manifest = PathBuf::from(value("a path")?),
            "-c" | "--component-id" => options.components.get_or_insert_with(Vec::new).push(value("a component id")?),
            "--listen" => options.listen = value("an address")?.parse()?,
            "--variable" => {
                let v = value("name=value")?;
                let (name, val) = v.split_once('=').context("--variable wants name=value")?;
                options.variables.insert(name.to_string(), val.to_string());
            }
            "--kv-file" => kv = Some(StoreBacking::File(PathBuf::from(value("a path")?))),
            "--kv-memory" => kv = Some(StoreBacking::Memory),
            "--store-label" => options.store_labels.push(value("a label")?),
            "--kv-redis" => kv = Some(StoreBacking::Redis(value("a redis:// URL")?)),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    options.store = match kv {
        Some(k) => k,
        None => {
            // Where `spin up` keeps it.
            let dir = options.manifest.parent().map(|p| p.join(".spin")).unwrap_or_else(|| PathBuf::from(".spin"));
            std::fs::create_dir_all(&dir)?;
            StoreBacking::File(dir.join("sqlite_key_value.db"))
        }
    };
    let app = TestApp::start(options)?;
    println!("Serving {}", app.url());
    println!("Stop with Ctrl-C.");
    loop {
        std::thread::park();
    }
}
