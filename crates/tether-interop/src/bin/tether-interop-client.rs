//! `tether-interop-client`: runs the standard gRPC interop cases against a
//! server, with the standard interop client flags.
//!
//! `--test_case=all` (the default) runs every case; the exit status is 0
//! when every case run passed, 1 when one failed, 2 on bad flags.

use std::process::ExitCode;
use tether_interop::{cases, ClientArgs};

fn main() -> ExitCode {
    let args = match ClientArgs::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "tether-interop-client: {e}\nusage: tether-interop-client --server_port=P \
                 [--server_host=H] [--test_case=C|all] [--use_tls] [--use_test_ca --ca_file=F] \
                 [--server_host_override=NAME]"
            );
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tether-interop-client: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let channel = match args.channel() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("tether-interop-client: {e}");
                return ExitCode::from(2);
            }
        };
        let names: Vec<&str> = if args.test_case == "all" {
            cases::ALL.to_vec()
        } else {
            vec![args.test_case.as_str()]
        };
        let mut failed = 0;
        for name in &names {
            match cases::run(name, &channel).await {
                Ok(()) => println!("PASS {name}"),
                Err(e) => {
                    failed += 1;
                    println!("FAIL {name}: {e}");
                }
            }
        }
        println!("{} passed, {failed} failed", names.len() - failed);
        if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    })
}
