//! Every standard interop case against real interop servers: grpc-go's and
//! C-core's (Python grpcio), plaintext and TLS. Each test runs all cases and
//! reports every failure together.

mod common;

use common::{free_port, runtime, Server};
use tether_interop::cases;

fn run_against(server: Server, tls: bool) {
    if !server.available() {
        return;
    }
    let port = free_port();
    let peer = server.start(port, tls, &[]);
    let args = server.client_args(port, tls);
    let result = runtime().block_on(async {
        let channel = args.channel()?;
        cases::run_all(&cases::ALL, &channel).await
    });
    if let Err(e) = result {
        panic!(
            "{server:?} {}: {e}\nserver log:\n{}",
            if tls { "TLS" } else { "plaintext" },
            peer.log_text()
        );
    }
}

#[test]
fn go_plaintext() {
    run_against(Server::Go, false);
}

#[test]
fn go_tls() {
    run_against(Server::Go, true);
}

#[test]
fn ccore_plaintext() {
    run_against(Server::CCore, false);
}

#[test]
fn ccore_tls() {
    run_against(Server::CCore, true);
}
