//! `tether list TARGET [SERVICE]`: the services a server exposes, or one
//! service's methods, by server reflection (or from `--proto` files, without
//! connecting). Exit codes as for `tether call` (see [`crate::call`]).

use crate::call::{ConnArgs, Failure};
use std::process::ExitCode;
use std::time::Instant;

/// `tether list`: flags and arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct ListArgs {
    /// Target, TLS, metadata, time limit and --proto flags.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// List this service's methods (pkg.Service.Method) instead of the
    /// services.
    pub service: Option<String>,
}

/// `tether list`: prints one name per line, sorted.
pub async fn run(args: &ListArgs) -> ExitCode {
    match list(args).await {
        Ok(lines) => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            for l in lines {
                if writeln!(stdout, "{l}").is_err() {
                    break;
                }
            }
            ExitCode::SUCCESS
        }
        Err(f) => f.report(),
    }
}

async fn list(args: &ListArgs) -> Result<Vec<String>, Failure> {
    let conn = &args.conn;
    let deadline = conn.deadline(Instant::now());
    let metadata = conn.metadata()?;
    let channel = if conn.protos.is_empty() {
        Some(conn.connect(deadline).await?)
    } else {
        None
    };
    let mut descriptors = conn.descriptors(channel.as_ref(), &metadata, deadline)?;
    let result = match &args.service {
        None => descriptors.services().await,
        Some(name) => descriptors.service(name.trim()).await.map(|s| {
            let mut methods: Vec<String> = s.methods().map(|m| m.full_name().to_owned()).collect();
            methods.sort();
            methods
        }),
    };
    descriptors.close();
    if let Some(c) = channel {
        c.close();
    }
    result
}
