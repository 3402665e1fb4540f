//! A cluster of `nats-server`s with JetStream on loopback: fixed client, route and
//! monitoring ports per node (so a node restarts where it was), each node routed to the
//! others. For tests of fail-over and for `runnerctl dev --cluster 3`.

use super::nats_server::{NatsServer, ServerOptions};

/// A free loopback port (bound and released: another process may take it meanwhile, which
/// the server's start then reports).
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// One node: its server and its ports.
pub struct Node {
    pub server: NatsServer,
    /// The server's name, as JetStream names stream and meta leaders (`n0`, `n1`, ...).
    pub name: String,
    pub monitor_port: u16,
}

impl Node {
    /// `http://127.0.0.1:<monitor>`: `/jsz`, `/connz`, `/varz`.
    pub fn monitor_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.monitor_port)
    }
}

pub struct NatsCluster {
    pub nodes: Vec<Node>,
}

impl NatsCluster {
    /// Starts `n` nodes named `n0..`, cluster `runner-dev`, each routed to every other.
    /// JetStream elects its meta leader a moment after: wait for it before using JetStream.
    pub fn start(n: usize) -> Result<NatsCluster, String> {
        Self::start_with(n, None, None)
    }

    /// [`NatsCluster::start`] with a configuration file for every node (`-c`: an account
    /// mapping, say) and the nodes' stores under `store_root` (`<root>/n0`, ...; temp dirs
    /// when `None`).
    pub fn start_with(
        n: usize,
        config_file: Option<std::path::PathBuf>,
        store_root: Option<std::path::PathBuf>,
    ) -> Result<NatsCluster, String> {
        let routes: Vec<u16> = (0..n).map(|_| free_port()).collect::<Result<_, _>>()?;
        let route_urls: Vec<String> = routes
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect();
        let mut nodes = Vec::with_capacity(n);
        for (i, route) in routes.iter().enumerate() {
            let name = format!("n{i}");
            let monitor_port = free_port()?;
            let others: Vec<&str> = route_urls
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, u)| u.as_str())
                .collect();
            let args = vec![
                "--name".to_string(),
                name.clone(),
                "--cluster_name".to_string(),
                "runner-dev".to_string(),
                "--cluster".to_string(),
                format!("nats://127.0.0.1:{route}"),
                "--routes".to_string(),
                others.join(","),
                "-m".to_string(),
                monitor_port.to_string(),
            ];
            let server = NatsServer::start_with(ServerOptions {
                port: Some(free_port()?),
                args,
                config_file: config_file.clone(),
                store_dir: store_root.as_ref().map(|r| r.join(&name)),
                ..Default::default()
            })?;
            nodes.push(Node {
                server,
                name,
                monitor_port,
            });
        }
        Ok(NatsCluster { nodes })
    }

    /// Every node's client URL, comma-separated: what `RUNNER_NATS_URL` and `NATS_URL` take.
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(|n| n.server.url())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The node named `name`.
    pub fn node(&mut self, name: &str) -> Option<&mut Node> {
        self.nodes.iter_mut().find(|n| n.name == name)
    }
}
