//! The command line: global flags and one subcommand per operator task.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;

use crate::output::Format;

const ABOUT: &str = "Operate saga runners: place tenants on shards, see shards and their status, run a local stack.";

const AFTER: &str = "\
Examples:
  runnerctl dev                                   # local NATS + runners + sample events, live status
  runnerctl shards                                # live runners: state, tenants, heartbeat
  runnerctl place acme shard-b --reason \"rebalance\"
  runnerctl placements                            # desired vs actual owner of every tenant
  runnerctl status --url http://127.0.0.1:7070 -o json | jq .totals

Exit codes: 0 ok, 1 failure, 2 usage, 3 runner or NATS unreachable, 4 runner answered an error,
5 not found, 6 conflicting change, 7 refused for safety (--force overrides). See docs/cli.md.";

#[derive(Debug, Parser)]
#[command(name = "runnerctl", version, about = ABOUT, after_help = AFTER)]
pub struct Cli {
    /// Output format: table for people, json for scripts.
    #[arg(
        long,
        short = 'o',
        global = true,
        value_enum,
        default_value_t,
        env = "RUNNERCTL_OUTPUT"
    )]
    pub output: Format,
    /// Bearer token for runners started with RUNNER_ADMIN_TOKEN.
    #[arg(long, global = true, env = "RUNNERCTL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// CA certificate(s) (PEM) to trust, besides the system's, for https:// admin URLs (a
    /// TLS proxy or ingress in front of the runners).
    #[arg(long, global = true, env = "RUNNERCTL_CA_CERT", value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// A context of the config file (NATS, buckets, token, output); default: the file's
    /// current_context.
    #[arg(long, global = true, env = "RUNNERCTL_CONTEXT")]
    pub context: Option<String>,
    #[command(flatten)]
    pub nats: NatsArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Where NATS and the placement buckets are.
#[derive(Debug, Clone, Args)]
pub struct NatsArgs {
    /// NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222).
    #[arg(
        long,
        global = true,
        env = "NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    pub nats_url: String,
    /// NATS credentials file.
    #[arg(long, global = true, env = "RUNNERCTL_NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,
    /// NATS user (with --nats-password).
    #[arg(long, global = true, env = "RUNNERCTL_NATS_USER")]
    pub nats_user: Option<String>,
    /// NATS password.
    #[arg(
        long,
        global = true,
        env = "RUNNERCTL_NATS_PASSWORD",
        hide_env_values = true
    )]
    pub nats_password: Option<String>,
    /// NATS token.
    #[arg(
        long,
        global = true,
        env = "RUNNERCTL_NATS_TOKEN",
        hide_env_values = true
    )]
    pub nats_token: Option<String>,
    /// File holding an nkey seed.
    #[arg(long, global = true, env = "RUNNERCTL_NATS_NKEY")]
    pub nats_nkey: Option<PathBuf>,
    /// CA certificate (PEM) to verify the NATS server; enables TLS.
    #[arg(long, global = true, env = "RUNNERCTL_NATS_TLS_CA")]
    pub nats_tls_ca: Option<PathBuf>,
    /// KV bucket of the tenant placement (the runners' RUNNER_TENANT_PLACEMENT_BUCKET).
    #[arg(long, global = true, env = "RUNNERCTL_PLACEMENT_BUCKET", default_value = shared::placement::DEFAULT_PLACEMENT_BUCKET)]
    pub placement_bucket: String,
    /// KV bucket of the shard registry (the runners' RUNNER_REGISTRY_BUCKET).
    #[arg(long, global = true, env = "RUNNERCTL_REGISTRY_BUCKET", default_value = shared::placement::DEFAULT_REGISTRY_BUCKET)]
    pub registry_bucket: String,
    /// KV bucket of the hand-over records (the runners' RUNNER_HANDOFF_BUCKET).
    #[arg(long, global = true, env = "RUNNERCTL_HANDOFF_BUCKET", default_value = shared::placement::DEFAULT_HANDOFF_BUCKET)]
    pub handoff_bucket: String,
    /// Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single
    /// server, 3 on a cluster of three or more) or 1-5 (the runners' RUNNER_REPLICAS).
    #[arg(long, global = true, env = "RUNNERCTL_REPLICAS", default_value = "auto", value_parser = clap::value_parser!(shared::nats::Replicas))]
    pub replicas: shared::nats::Replicas,
    /// Object Store bucket of the shard snapshots (the runners' RUNNER_SNAPSHOT_BUCKET).
    #[arg(long, global = true, env = "RUNNERCTL_SNAPSHOT_BUCKET", default_value = shared::snapshots::DEFAULT_BUCKET)]
    pub snapshot_bucket: String,
    /// The event stream (the runners' RUNNER_STREAM).
    #[arg(long, global = true, env = "RUNNERCTL_STREAM", default_value = shared::names::DEFAULT_EVENT_STREAM)]
    pub stream: String,
}

impl NatsArgs {
    /// The NATS credentials and CA, as the connect-options builder in `shared` takes them.
    pub fn auth(&self) -> shared::nats::NatsAuth {
        shared::nats::NatsAuth {
            creds: self.nats_creds.clone(),
            user: self.nats_user.clone(),
            password: self.nats_password.clone(),
            token: self.nats_token.clone(),
            nkey: self.nats_nkey.clone(),
            tls_ca: self.nats_tls_ca.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show a runner's status: state, tenants, checkpoints and lag, counters, problems.
    #[command(after_help = "\
Examples:
  runnerctl status shard-a                          # found through the shard registry
  runnerctl status --url http://127.0.0.1:7070
  runnerctl status shard-a --watch 2s
  runnerctl status --url http://10.0.0.5:7070 --token \"$TOKEN\" -o json")]
    Status(StatusArgs),
    /// Place a tenant on a shard (compare-and-swap on the placement key). Refuses a shard
    /// that is not registered or is draining, and a tenant with state on another live shard,
    /// unless --force.
    #[command(after_help = "\
Examples:
  runnerctl place acme                              # on the recommended shard
  runnerctl place acme shard-b --reason \"shard-a is hot\"
  runnerctl place acme shard-b --expect shard-a     # only if acme is on shard-a now
  runnerctl place acme shard-a --expect -           # only if acme is not placed yet
  runnerctl place acme shard-a --create             # create the placement bucket if missing")]
    Place(PlaceArgs),
    /// Remove a tenant's placement: its shard releases it and no shard serves it.
    #[command(after_help = "\
Examples:
  runnerctl unplace acme --reason \"tenant offboarded\"
  runnerctl unplace acme --expect shard-b")]
    Unplace(UnplaceArgs),
    /// Accept that a tenant's state is lost: its shard came back with an empty volume (the
    /// tenant waits, "state lost"). Marks the tenant's claim released at the last position
    /// known for it; its shard then serves it after that position with empty state.
    #[command(after_help = "\
Examples:
  runnerctl release acme --accept-state-loss --reason \"disk of shard-a replaced\"

Prefer restoring the volume if you can: this starts the tenant with empty state.")]
    Release(ReleaseArgs),
    /// Every placed tenant: desired shard, actual owner, the owner's health, and a mismatch
    /// flag for tenants with no owner or an owner that is not the desired shard.
    #[command(after_help = "\
Examples:
  runnerctl placements
  runnerctl placements -o json | jq '.[] | select(.mismatch)'")]
    Placements,
    /// Live placement changes, and what the runners do about them, until Ctrl-C.
    #[command(after_help = "\
Examples:
  runnerctl watch
  runnerctl watch -o json     # one JSON object per line")]
    Watch,
    /// The revisions of a tenant's placement, with who changed it, when and why.
    #[command(after_help = "\
Examples:
  runnerctl history acme")]
    History {
        /// The tenant.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        tenant: String,
    },
    /// Live shards from the registry: state, tenants, heartbeat age, admin URL.
    #[command(after_help = "\
Examples:
  runnerctl shards
  runnerctl shards -o json | jq -r '.[].admin_url'")]
    Shards,
    /// Keep new tenants off a shard: it keeps serving the tenants it has, and place, move
    /// and rebalance do not pick it as a target (--ignore-cordon overrides). Shown by
    /// `shards`, the dashboard and the runner's status.
    #[command(after_help = "\
Examples:
  runnerctl cordon shard-b --reason \"disk replacement on Thursday\"
  runnerctl rebalance --apply          # moves nothing onto shard-b
  runnerctl uncordon shard-b")]
    Cordon(CordonArgs),
    /// Take a snapshot of a shard's volume now and store it in the snapshot bucket (the
    /// runner also takes them every RUNNER_SNAPSHOT_EVERY). Waits until it is stored.
    #[command(after_help = "\
Examples:
  runnerctl snapshot shard-a
  runnerctl snapshot shard-a -o json | jq -r .snapshot.id")]
    Snapshot(SnapshotArgs),
    /// List the snapshots in the snapshot bucket, oldest first: all shards', or one's.
    #[command(after_help = "\
Examples:
  runnerctl snapshots
  runnerctl snapshots shard-a -o json | jq -r '.[-1].id'
  runnerctl snapshots shard-a --snapshot 20261207T191500.123Z   # positions per tenant and saga")]
    Snapshots(SnapshotsArgs),
    /// Write a shard's volume from a snapshot (the newest unless --snapshot), verified, into
    /// a new directory to start the shard's runner on. Refuses (exit 7) when the event
    /// stream no longer holds events since the snapshot, unless --accept-loss.
    #[command(after_help = "\
Examples:
  runnerctl restore shard-a --to /var/lib/runner/shard-a
  runnerctl restore shard-a --snapshot 20261207T191500.123Z --to /var/lib/runner/shard-a
  runnerctl restore shard-a --to /var/lib/runner/shard-a --accept-loss

Then start shard-a's runner on the directory: it catches up from the snapshot's positions
and publishes no command its lost volume had published (docs/runbooks.md).")]
    Restore(RestoreArgs),
    /// Fleet health against thresholds, for monitoring: shards present and heartbeating,
    /// admin APIs answering, lag, outbox age, dead letters, mismatched placements. Exit 0
    /// OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (NATS unreachable), with a Nagios-style summary
    /// line and performance data.
    #[command(after_help = "\
Examples:
  runnerctl check
  runnerctl check --lag-warn 5000 --lag-crit 500000 --expect-shards shard-a,shard-b
  runnerctl check -o json | jq '.checks[] | select(.status != \"ok\")'

Exit codes (monitoring plugin convention): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.")]
    Check(CheckArgs),
    /// Let placement tools pick a cordoned shard again.
    #[command(after_help = "\
Examples:
  runnerctl uncordon shard-b")]
    Uncordon(CordonArgs),
    /// Drain a runner: stop reading, commit what is in flight, flush the outbox, hold
    /// timers; follow it until drained. For a rolling restart or maintenance.
    #[command(after_help = "\
Examples:
  runnerctl drain shard-a                          # admin URL from the shard registry
  runnerctl drain --url http://10.0.0.5:7070 --timeout 2m
  runnerctl drain shard-a --no-wait                # start it and return
  runnerctl resume shard-a                         # back to service")]
    Drain(DrainArgs),
    /// Return a drained (or draining) runner to service.
    #[command(after_help = "\
Examples:
  runnerctl resume shard-a
  runnerctl resume --url http://10.0.0.5:7070")]
    Resume(TargetArgs),
    /// Re-read a tenant's saga from the stream after resetting what the mode says; shows
    /// the dry-run preview first and asks before destructive modes.
    #[command(after_help = "\
Modes (what is deleted for the tenant+saga before the re-read):
  checkpoint_only        the checkpoint: only events never applied are applied
  checkpoint_and_dedupe  checkpoint and dedupe markers: every retained event is applied again
  full_reset             also instances, pending outbox and timers: state is rebuilt

Examples:
  runnerctl replay --tenant acme --saga order --mode checkpoint_only
  runnerctl replay --tenant acme --saga order --mode full_reset --dry-run
  runnerctl replay --tenant acme --saga order --mode full_reset --yes -o json")]
    Replay(ReplayArgs),
    /// Live lookups through a runner's admin API (read-only): the same output as `inspect`
    /// gives for a stopped shard's volume, without access to the runner's filesystem.
    #[command(
        subcommand,
        after_help = "\
Examples:
  runnerctl get instance --tenant acme --saga order --key o-1001
  runnerctl get instances --tenant acme --saga order --state awaiting_payment --limit 20
  runnerctl get instances --tenant acme --saga order --after o-1020 -o json
The shard is found from the tenant's claim; --shard or --url name it instead."
    )]
    Get(GetCmd),
    /// Dead letters, the events the runners could not use: list them, show one in full,
    /// and redrive them to their original subjects once the cause is fixed.
    #[command(after_help = "\
Examples:
  runnerctl dlq ls                                  # the newest 100, oldest first
  runnerctl dlq ls --tenant acme --reason bad_envelope --since 1h
  runnerctl dlq show 42                             # headers and payload of dead letter 42
  runnerctl dlq redrive 42 57 --dry-run             # what would be published, and where
  runnerctl dlq redrive --tenant acme --reason unknown_saga --yes

runnerctl never deletes dead letters; purge those you are done with using natscli
(`nats stream purge RUNNER_DLQ --subject dlq.acme.order`). See docs/runbooks.md#dead-letters.")]
    Dlq(DlqArgs),
    /// Move a tenant with its state to another shard: release, export, import, flip the
    /// placement, clean up. Resumable: rerun to finish, --abort to roll back.
    #[command(after_help = "\
Examples:
  runnerctl move acme --to shard-b --reason \"shard-a is hot\"
  runnerctl move acme --to shard-b --dry-run       # the plan and the counts that would move
  runnerctl move acme --to shard-b                 # again after an interruption: finishes it
  runnerctl move acme --abort                      # roll an unfinished move back to the source
  runnerctl move acme --to shard-b --from-snapshot # shard-a is gone: state from its snapshot")]
    Move(MoveArgs),
    /// Propose, and with --apply carry out, the moves that put each partition group on one
    /// shard and spread the load: from measured events/s per tenant and read cost. Moves
    /// go with the tenants' state, as `move` does.
    #[command(after_help = "\
Examples:
  runnerctl rebalance                              # the plan: moves, reads per shard now and after
  runnerctl rebalance -o json
  runnerctl rebalance --apply --concurrency 4      # run it, 4 moves at a time
  runnerctl rebalance --resume                     # finish an interrupted one")]
    Rebalance(RebalanceArgs),
    /// Move the fleet from the single event stream to partition group streams: create them,
    /// print the server mapping, seal the single stream, wait until every shard has read it
    /// to its end. Rerun it at each step; it says the next one.
    #[command(after_help = "\
Examples: the steps of docs/runbooks.md#moving-to-partitioned-streams
  runnerctl migrate --partitions 64          # create the group streams, print the mapping
  (add the mapping to every nats-server's configuration, nats-server --signal reload)
  runnerctl migrate --partitions 64 --seal   # seal the single stream, wait for every shard
  (restart each runner with RUNNER_PARTITIONS=64)
  runnerctl migrate --partitions 64          # check: every shard on the new layout")]
    Migrate(MigrateArgs),
    /// Create the streams and KV buckets a fleet uses, up front, with --replicas copies (the
    /// runners create what is missing themselves, with RUNNER_REPLICAS); show the copies
    /// each one keeps, and raise them with --update.
    #[command(after_help = "\
Examples:
  runnerctl setup                                   # what exists, and what it keeps
  runnerctl setup --replicas 3                      # create what is missing with 3 copies
  runnerctl setup --replicas 3 --update             # and raise what keeps fewer
  runnerctl setup --nats-url nats://a:4222,nats://b:4222 --partitions 64 -o json")]
    Setup(SetupArgs),
    /// The live dashboard of the fleet (shards, tenants, lag, changes; drain, resume,
    /// replay, move), or of a stopped volume with --volume.
    #[command(after_help = "\
Examples:
  runnerctl tui                                   # the fleet behind NATS_URL / the context
  runnerctl tui --readonly --refresh 5s           # no mutating action is offered
  runnerctl tui --volume /var/lib/runner/shard-a  # browse a stopped volume

Keys: Tab panes · ↑↓ j/k move · Enter drill in · Esc back · / filter · d drain · r resume ·
p replay · m move · +/- refresh · ? help · q quit")]
    Tui(TuiArgs),
    /// Look inside a stopped shard's volume, read-only: summary, tenants, sagas,
    /// instances, checkpoints, dedupe markers, outbox, timers, export, diff.
    #[command(after_help = "\
Examples:
  runnerctl inspect /var/lib/runner/shard-a summary
  runnerctl inspect ./vol instances --tenant acme --saga order --state awaiting_payment --limit 20
  runnerctl inspect ./vol instance --tenant acme --saga order --key o-1001
  runnerctl inspect ./vol export --tenant acme > acme.jsonl
  runnerctl inspect ./vol-a diff ./vol-b --tenant acme
  runnerctl inspect /var/lib/runner/shard-a --allow-live summary   # snapshot of a live volume")]
    Inspect(InspectArgs),
    /// Start a local stack (nats-server with JetStream, placed runner shards on temporary
    /// volumes, a generator of sample events) and watch it; Ctrl-C stops and removes it.
    #[command(after_help = "\
Examples:
  runnerctl dev
  runnerctl dev --tenants acme,globex --rate 200
  runnerctl dev --keep          # keep the volume and NATS store after Ctrl-C")]
    Dev(DevArgs),
    /// The merged configuration (flags > environment > config-file context > defaults) and
    /// where each setting comes from; secrets are never shown.
    #[command(after_help = "\
Examples:
  runnerctl config show
  runnerctl --context prod config show -o json

Config file (RUNNERCTL_CONFIG, else ~/.config/runnerctl/config.toml):
  current_context = \"dev\"
  [contexts.dev]
  nats_url = \"nats://127.0.0.1:4222\"
  [contexts.prod]
  nats_url = \"tls://nats.prod:4222\"
  nats_creds = \"/etc/runnerctl/prod.creds\"
  nats_tls_ca = \"/etc/runnerctl/ca.pem\"
  token = \"...\"
  output = \"json\"")]
    Config {
        #[command(subcommand)]
        what: ConfigCmd,
    },
    /// Print a shell completion script (bash, zsh, fish). The generated files are also in
    /// completions/.
    #[command(after_help = "\
Examples:
  runnerctl completions bash > ~/.local/share/bash-completion/completions/runnerctl
  runnerctl completions fish > ~/.config/fish/completions/runnerctl.fish")]
    Completions {
        /// Shell to generate for.
        shell: Shell,
    },
    /// Write the man pages (runnerctl.1 and one per command) into a directory. The
    /// generated pages are also in docs/man/.
    #[command(after_help = "\
Examples:
  runnerctl man --out-dir /usr/local/share/man/man1 && man runnerctl-move")]
    Man {
        /// Where to write the pages (created if missing).
        #[arg(long, value_name = "DIR")]
        out_dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct PlaceArgs {
    /// The tenant ([A-Za-z0-9_-], 1-64).
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
    pub tenant: String,
    /// The shard to serve it; default: the recommended one (partitioned layout: the shard
    /// reading the tenant's partition group, else the one reading least).
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::shards))]
    pub shard: Option<String>,
    /// Write only if the tenant is placed on this shard now ("-": not placed at all).
    #[arg(long, value_name = "SHARD")]
    pub expect: Option<String>,
    /// Place even if the shard is not registered or is draining, or the tenant has state on
    /// another live shard (it then starts empty on the new shard).
    #[arg(long)]
    pub force: bool,
    /// Why, for the audit trail (`runnerctl history`).
    #[arg(long)]
    pub reason: Option<String>,
    /// Create the placement bucket if it does not exist.
    #[arg(long)]
    pub create: bool,
    /// Place on the shard even if it is cordoned (`runnerctl cordon`).
    #[arg(long)]
    pub ignore_cordon: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Lag (stream sequences not yet applied, the worst tenant+saga) that warns.
    #[arg(long, default_value_t = 1_000)]
    pub lag_warn: u64,
    /// Lag that is critical.
    #[arg(long, default_value_t = 100_000)]
    pub lag_crit: u64,
    /// Age of the oldest outbox message (any shard) that warns.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub outbox_age_warn: Duration,
    /// Outbox age that is critical.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub outbox_age_crit: Duration,
    /// Heartbeat age (the oldest shard's) that warns; heartbeats go every third of the
    /// lease time (15 s by default).
    #[arg(long, default_value = "8s", value_parser = humantime::parse_duration)]
    pub heartbeat_warn: Duration,
    /// Heartbeat age that is critical.
    #[arg(long, default_value = "12s", value_parser = humantime::parse_duration)]
    pub heartbeat_crit: Duration,
    /// Dead letters within --dlq-window that warn.
    #[arg(long, default_value_t = 1)]
    pub dlq_warn: u64,
    /// Dead letters within --dlq-window that are critical.
    #[arg(long, default_value_t = 100)]
    pub dlq_crit: u64,
    /// How far back dead letters count.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub dlq_window: Duration,
    /// The dead-letter stream (the runners' RUNNER_DLQ_STREAM).
    #[arg(long, default_value = shared::names::DEFAULT_DLQ_STREAM)]
    pub dlq_stream: String,
    /// Mismatched placements (a tenant not served where it is placed) that warn.
    #[arg(long, default_value_t = 1)]
    pub mismatch_warn: usize,
    /// Mismatched placements that are critical.
    #[arg(long, default_value_t = 10)]
    pub mismatch_crit: usize,
    /// Shards that must be in the registry (critical when one is not), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub expect_shards: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum GetCmd {
    /// One instance: state, version, data, timers, history.
    Instance {
        #[arg(long, add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        tenant: String,
        #[arg(long)]
        saga: String,
        #[arg(long)]
        key: String,
        #[command(flatten)]
        at: TenantShardArgs,
    },
    /// A page of a saga's instances, in key order.
    Instances {
        #[arg(long, add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        tenant: String,
        #[arg(long)]
        saga: String,
        /// Only instances in this state.
        #[arg(long)]
        state: Option<String>,
        /// Most rows in the page (1-1000).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=1000))]
        limit: u16,
        /// Start after this instance key (the previous page's `next_after`).
        #[arg(long)]
        after: Option<String>,
        #[command(flatten)]
        at: TenantShardArgs,
    },
}

/// Which runner answers about a tenant: found from its claim unless named.
#[derive(Debug, Args)]
pub struct TenantShardArgs {
    /// The shard serving the tenant (default: found from the tenant's claim).
    #[arg(long, conflicts_with = "url", add = clap_complete::engine::ArgValueCompleter::new(crate::complete::shards))]
    pub shard: Option<String>,
    /// The runner's admin URL instead.
    #[arg(long, env = "RUNNERCTL_URL")]
    pub url: Option<String>,
}

#[derive(Debug, Args)]
pub struct CordonArgs {
    /// The shard.
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::shards))]
    pub shard: String,
    /// Why, shown with the cordon (cordon only).
    #[arg(long)]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct UnplaceArgs {
    /// The tenant.
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
    pub tenant: String,
    /// Remove only if the tenant is placed on this shard now.
    #[arg(long, value_name = "SHARD")]
    pub expect: Option<String>,
    /// Why, for the audit trail.
    #[arg(long)]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The tenant.
    pub tenant: String,
    /// Required: you accept that the state the tenant had on its shard's lost volume is
    /// gone (instances, timers, dedupe markers).
    #[arg(long)]
    pub accept_state_loss: bool,
    /// Why, for the audit trail.
    #[arg(long)]
    pub reason: Option<String>,
}

/// Which runner: a shard id (found in the registry) or an admin URL.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The shard, looked up in the shard registry.
    #[arg(required_unless_present = "url", conflicts_with = "url", add = clap_complete::engine::ArgValueCompleter::new(crate::complete::shards))]
    pub shard: Option<String>,
    /// The runner's admin URL instead (works without the registry).
    #[arg(long, env = "RUNNERCTL_URL")]
    pub url: Option<String>,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// How long to wait for the snapshot to be stored.
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct SnapshotsArgs {
    /// Only this shard's snapshots.
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::shards))]
    pub shard: Option<String>,
    /// Show what this snapshot of the shard holds: every tenant's position and each saga's
    /// checkpoint.
    #[arg(long, value_name = "ID", requires = "shard")]
    pub snapshot: Option<String>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The shard whose volume to restore.
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::shards))]
    pub shard: String,
    /// The snapshot's id (`runnerctl snapshots <shard>`); the newest by default.
    #[arg(long, value_name = "ID")]
    pub snapshot: Option<String>,
    /// The directory to write the volume into: new or empty (never the live volume).
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
    /// Write it even though the event stream no longer holds some events since the
    /// snapshot; the runner then serves it without them (recorded in the volume).
    #[arg(long)]
    pub accept_loss: bool,
}

#[derive(Debug, Args)]
pub struct DrainArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// How long to wait for the drain; then list what blocks and exit 8.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// How long the runner may spend flushing its outbox before it counts as drained
    /// (entries left are published after resume or at the next start).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub flush_timeout: Duration,
    /// Start the drain and return at once.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum ModeArg {
    CheckpointOnly,
    CheckpointAndDedupe,
    FullReset,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The tenant.
    #[arg(long, add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
    pub tenant: String,
    /// The saga.
    #[arg(long)]
    pub saga: String,
    /// What to reset before the re-read.
    #[arg(long, value_enum)]
    pub mode: ModeArg,
    /// The shard serving the tenant (default: found from the tenant's claim).
    #[arg(long, conflicts_with = "url", add = clap_complete::engine::ArgValueCompleter::new(crate::complete::shards))]
    pub shard: Option<String>,
    /// The runner's admin URL instead.
    #[arg(long, env = "RUNNERCTL_URL")]
    pub url: Option<String>,
    /// Show the preview and stop.
    #[arg(long)]
    pub dry_run: bool,
    /// Proceed without asking (required without a terminal for destructive modes and
    /// retention warnings).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How long to follow the replay before giving up (it keeps running); exit 8.
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct DlqArgs {
    /// The dead-letter stream (the runners' RUNNER_DLQ_STREAM).
    #[arg(long, global = true, env = "RUNNERCTL_DLQ_STREAM", default_value = shared::names::DEFAULT_DLQ_STREAM)]
    pub dlq_stream: String,
    #[command(subcommand)]
    pub what: DlqCmd,
}

#[derive(Debug, Subcommand)]
pub enum DlqCmd {
    /// List dead letters in stream order (newest last): sequence, time, tenant, saga, reason,
    /// original subject and sequence, event id.
    #[command(after_help = "\
Examples:
  runnerctl dlq ls
  runnerctl dlq ls --tenant acme --saga order --since 2h
  runnerctl dlq ls --reason bad_json,bad_envelope --since 2026-11-25T10:00:00Z --until 30m
  runnerctl dlq ls --limit 0 -o json | jq -r '.[].event_id'")]
    Ls(DlqLsArgs),
    /// One dead letter in full: every header, the payload (pretty JSON when it is JSON), whether
    /// it was truncated and whether it can be redriven.
    #[command(after_help = "\
Examples:
  runnerctl dlq show 42
  runnerctl dlq show 42 -o json | jq .payload")]
    Show {
        /// The dead letter's sequence in the dead-letter stream (`dlq ls` shows it).
        #[arg(value_name = "DLQ_SEQ")]
        seq: u64,
    },
    /// Publish dead letters' events again to their original subjects, with a Nats-Msg-Id per
    /// dead letter (the event stream drops a second redrive within its duplicate window; the
    /// runner skips an event id it applied). Dead letters that cannot be redriven are skipped
    /// with the reason. Nothing is deleted from the dead-letter stream.
    #[command(after_help = "\
Examples:
  runnerctl dlq redrive 42 57 --dry-run             # the plan; nothing is published
  runnerctl dlq redrive 42 57                       # asks first (scripts: --yes)
  runnerctl dlq redrive --tenant acme --reason unknown_saga --since 1h --yes
  runnerctl dlq redrive --all --dry-run -o json

Fix the cause first (the saga file, the producer): an event redriven unchanged into the same
problem is dead-lettered again.")]
    Redrive(DlqRedriveArgs),
}

/// Which dead letters: the subject filter (tenant, saga) is applied by the server, the time
/// range starts there too.
#[derive(Debug, Clone, Default, Args)]
pub struct DlqFilter {
    /// Only this tenant's dead letters.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Only this saga's.
    #[arg(long)]
    pub saga: Option<String>,
    /// Only these reason codes (the Runner-Dlq-Code header), comma-separated: bad_json,
    /// bad_envelope, bad_field, too_large, unknown_saga, apply_failed, conflicting_duplicate,
    /// invalid_subject, wrong_group.
    #[arg(long, value_name = "CODE", value_delimiter = ',')]
    pub reason: Vec<String>,
    /// Only dead letters stored at or after this: a time (RFC 3339, e.g.
    /// 2026-11-25T10:00:00Z) or a duration ago (1h, 30m).
    #[arg(long, value_name = "TIME|AGO", value_parser = parse_when)]
    pub since: Option<std::time::SystemTime>,
    /// Only dead letters stored at or before this: a time or a duration ago.
    #[arg(long, value_name = "TIME|AGO", value_parser = parse_when)]
    pub until: Option<std::time::SystemTime>,
}

/// `--since`/`--until`: an RFC 3339 time (`2026-11-25T10:00:00Z`, `2026-11-25 10:00:00`,
/// `2026-11-25T12:00:00+02:00`) or a duration ago (`1h`, `30m`, `2d`).
pub fn parse_when(s: &str) -> Result<std::time::SystemTime, String> {
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Ok(t);
    }
    if let Ok(t) = async_nats::datetime::parse_rfc3339(s) {
        let ns = u64::try_from(t.unix_timestamp_nanos())
            .map_err(|_| format!("{s} is before 1970 or too far ahead"))?;
        return Ok(std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns));
    }
    match humantime::parse_duration(s) {
        Ok(d) => std::time::SystemTime::now()
            .checked_sub(d)
            .ok_or_else(|| format!("{s} ago is before the epoch")),
        Err(_) => Err(format!(
            "'{s}' is neither a time (RFC 3339, e.g. 2026-11-25T10:00:00Z) nor a duration ago (e.g. 1h, 30m)"
        )),
    }
}

#[derive(Debug, Args)]
pub struct DlqLsArgs {
    #[command(flatten)]
    pub filter: DlqFilter,
    /// Most dead letters shown, the newest of those matching (0: all); how many more matched
    /// is said on stderr.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct DlqRedriveArgs {
    /// Dead letters by their sequence in the dead-letter stream, instead of filters.
    #[arg(value_name = "DLQ_SEQ", conflicts_with_all = ["tenant", "saga", "reason", "since", "until", "all"])]
    pub seqs: Vec<u64>,
    #[command(flatten)]
    pub filter: DlqFilter,
    /// Every dead letter in the stream (needed when neither sequences nor a filter is given).
    #[arg(long, conflicts_with_all = ["tenant", "saga", "reason", "since", "until"])]
    pub all: bool,
    /// Show the plan (what would be published where, what is skipped and why) and publish
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Publish without asking (required without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Every setting, its value (secrets hidden) and its source.
    Show,
    /// The config file's contexts, the current one marked.
    Contexts,
    /// Make a context the current one (the file's current_context; comments and layout kept).
    UseContext {
        /// The context.
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct MoveArgs {
    /// The tenant.
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
    pub tenant: String,
    /// The shard to move it to.
    #[arg(long, value_name = "SHARD", required_unless_present = "abort", add = clap_complete::engine::ArgValueCompleter::new(crate::complete::shards))]
    pub to: Option<String>,
    /// Why, for the audit trail.
    #[arg(long)]
    pub reason: Option<String>,
    /// Keep the tenant's copy on the source shard after the move.
    #[arg(long)]
    pub keep_source: bool,
    /// Print the plan with the counts that would move, and change nothing.
    #[arg(long, conflicts_with = "abort")]
    pub dry_run: bool,
    /// Roll an unfinished move back: the source serves the tenant again.
    #[arg(long)]
    pub abort: bool,
    /// Move even onto a cordoned shard (`runnerctl cordon`).
    #[arg(long)]
    pub ignore_cordon: bool,
    /// The shard that served the tenant is gone for good: take the tenant's state from its
    /// newest snapshot holding it (or snapshot ID) instead; the target re-applies the
    /// events since the snapshot and publishes nothing that was published already.
    #[arg(long, value_name = "ID", num_args = 0..=1, default_missing_value = "latest", conflicts_with_all = ["abort", "keep_source", "dry_run"])]
    pub from_snapshot: Option<String>,
    /// With --from-snapshot: go on although the event stream no longer holds some of the
    /// tenant's events since the snapshot (they are lost).
    #[arg(long, requires = "from_snapshot")]
    pub accept_loss: bool,
    /// How long to wait for each phase (release, the target taking over).
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct RebalanceArgs {
    /// Measure each tenant's events/s over this long (the events the streams hold when
    /// nothing is published meanwhile).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub window: Duration,
    /// How far above the mean load a shard may stay (a fraction of it).
    #[arg(long, default_value_t = 0.1)]
    pub tolerance: f64,
    /// Carry the plan out (it is saved first, so --resume can finish it).
    #[arg(long, conflicts_with_all = ["resume", "discard"])]
    pub apply: bool,
    /// Finish the rebalance that was interrupted, as planned then.
    #[arg(long, conflicts_with = "discard")]
    pub resume: bool,
    /// Forget an interrupted rebalance's plan (moves made stay made).
    #[arg(long)]
    pub discard: bool,
    /// Moves at once.
    #[arg(long, default_value_t = 2)]
    pub concurrency: usize,
    /// How long each move may wait for each of its phases.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Why, for the audit trail of every move.
    #[arg(long)]
    pub reason: Option<String>,
    /// Treat cordoned shards like the others: move tenants onto and off them.
    #[arg(long)]
    pub ignore_cordon: bool,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The number of partition groups to move to (the runners' RUNNER_PARTITIONS after).
    #[arg(long)]
    pub partitions: u16,
    /// Seal the single stream (once it no longer receives events), then wait until every
    /// live shard has read it to its end.
    #[arg(long)]
    pub seal: bool,
    /// With --seal: seal even though the single stream still receives events.
    #[arg(long, requires = "seal")]
    pub force: bool,
    /// With --seal: seal even though tenants with events in it have no placement (their
    /// events stay in the sealed stream, unapplied).
    #[arg(long, requires = "seal")]
    pub allow_unplaced: bool,
    /// How long to wait for the shards to finish the sealed stream.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Partition groups of the layout (the runners' RUNNER_PARTITIONS); default: what the
    /// fleet's streams say (0, the single stream, when there are none yet).
    #[arg(long, value_parser = clap::value_parser!(u16).range(0..=shared::layout::MAX_PARTITIONS as i64))]
    pub partitions: Option<u16>,
    /// The command stream (the runners' RUNNER_COMMANDS_STREAM).
    #[arg(long, default_value = shared::names::DEFAULT_COMMAND_STREAM)]
    pub commands_stream: String,
    /// The dead-letter stream (the runners' RUNNER_DLQ_STREAM).
    #[arg(long, default_value = shared::names::DEFAULT_DLQ_STREAM)]
    pub dlq_stream: String,
    /// The lease time of a registry bucket created here (the runners' RUNNER_LEASE_TTL).
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    pub lease_ttl: Duration,
    /// Raise the replicas of what exists with fewer copies than wanted.
    #[arg(long)]
    pub update: bool,
}

#[derive(Debug, Args)]
pub struct TuiArgs {
    /// Browse this stopped volume instead of the live fleet.
    #[arg(long, value_name = "PATH")]
    pub volume: Option<PathBuf>,
    /// With --volume: read a volume a live runner holds (a snapshot).
    #[arg(long, requires = "volume")]
    pub allow_live: bool,
    /// Offer no action that changes anything.
    #[arg(long)]
    pub readonly: bool,
    /// How often the runners' admin APIs are polled (+/- change it live).
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub refresh: Duration,
    /// Where the dashboard logs while it runs (the change log, NATS and HTTP errors);
    /// default $XDG_STATE_HOME/runnerctl/tui.log (~/.local/state/...). Level: RUNNERCTL_LOG.
    #[arg(long, value_name = "FILE", env = "RUNNERCTL_TUI_LOG")]
    pub log_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The volume: a runner's data dir (RUNNER_DATA_DIR).
    pub volume: PathBuf,
    /// Read a volume a live runner holds (a consistent snapshot; says so).
    #[arg(long)]
    pub allow_live: bool,
    #[command(subcommand)]
    pub what: InspectCmd,
}

#[derive(Debug, Subcommand)]
pub enum InspectCmd {
    /// Format, shard, size, last write, entries per table and per tenant.
    Summary,
    /// Tenants with their entry counts and read positions.
    Tenants,
    /// A tenant's sagas with their counts and checkpoints.
    Sagas {
        #[arg(long)]
        tenant: String,
    },
    /// A page of a saga's instances, in key order.
    Instances {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        saga: String,
        /// Only instances in this state.
        #[arg(long)]
        state: Option<String>,
        /// Most rows in the page.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Start after this instance key (the previous page's `next_after`).
        #[arg(long)]
        after: Option<String>,
    },
    /// One instance: state, version, data, timers, history.
    Instance {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        saga: String,
        #[arg(long)]
        key: String,
    },
    /// Checkpoints (last stream sequence applied) per tenant and saga.
    Checkpoints {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// A page of a saga's dedupe markers (applied event ids), in id order.
    Dedupe {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        saga: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        after: Option<String>,
    },
    /// Outbox entries waiting to be published, in write order.
    Outbox {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Pending timers.
    Timers {
        #[arg(long)]
        tenant: Option<String>,
        /// Only timers due before this time (RFC 3339, e.g. 2026-11-25T12:00:00Z).
        #[arg(long, value_parser = humantime::parse_rfc3339_weak)]
        due_before: Option<std::time::SystemTime>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// A tenant's state in the export format (JSON lines, see docs/inspect.md), to stdout.
    Export {
        #[arg(long)]
        tenant: String,
        /// Only these sagas (repeat the flag); default all.
        #[arg(long)]
        saga: Vec<String>,
    },
    /// What differs from another volume, per table and key; exit 1 when anything does.
    Diff {
        /// The other volume.
        other: PathBuf,
        #[arg(long)]
        tenant: Option<String>,
        /// Differing keys shown per table.
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Refresh every INTERVAL (e.g. 2s) until Ctrl-C.
    #[arg(long, value_name = "INTERVAL", value_parser = humantime::parse_duration)]
    pub watch: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Tenants placed on the shards and written to by the generator.
    #[arg(long, value_delimiter = ',', default_value = "acme,globex,initech")]
    pub tenants: Vec<String>,
    /// Sample events per second, over all tenants.
    #[arg(long, default_value_t = 50)]
    pub rate: u32,
    /// Keep the runner's volume and the NATS store after stopping (their paths are printed).
    #[arg(long)]
    pub keep: bool,
    /// Print where everything is and progress lines instead of the live status view.
    #[arg(long, alias = "no-tui")]
    pub no_view: bool,
    /// Runner shards to start (shard-a, shard-b, ...); tenants are placed round-robin.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub shards: u8,
    /// Admin address of the first runner; the next ones take the following ports.
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub admin_addr: std::net::SocketAddr,
    /// NATS port (a free one if taken); with --cluster, the ports are free ones.
    #[arg(long, default_value_t = 4222)]
    pub nats_port: u16,
    /// NATS servers: 1, or a JetStream cluster of 3 to 5 on loopback (streams and buckets
    /// then keep 3 copies; kill a node to watch the fleet ride it out).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub cluster: u8,
    /// The runner binary (default: the one next to runnerctl, else on PATH).
    #[arg(long, env = "RUNNERCTL_RUNNER_BIN")]
    pub runner_bin: Option<PathBuf>,
    /// Saga file (default: the example sagas shipped with runnerctl).
    #[arg(long)]
    pub sagas: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_subcommand_has_an_example_in_its_help() {
        let cmd = Cli::command();
        for sub in cmd.get_subcommands() {
            let help = sub
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            assert!(
                help.contains("Examples:"),
                "`runnerctl {}` has no example",
                sub.get_name()
            );
        }
    }

    #[test]
    fn the_configuration_reference_lists_every_flag_and_variable() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/configuration.md"
        ))
        .unwrap();
        fn walk(cmd: &clap::Command, doc: &str, path: &str) {
            for arg in cmd.get_arguments() {
                if let Some(env) = arg.get_env() {
                    let env = env.to_string_lossy();
                    assert!(
                        doc.contains(&format!("`{env}`")),
                        "docs/configuration.md does not document {env} ({path})"
                    );
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, doc, &format!("{path} {}", sub.get_name()));
            }
        }
        walk(&Cli::command(), &doc, "runnerctl");
    }

    #[test]
    fn global_flags_work_before_and_after_the_subcommand() {
        let a = Cli::try_parse_from(["runnerctl", "-o", "json", "status", "--url", "http://x"])
            .unwrap();
        let b = Cli::try_parse_from([
            "runnerctl",
            "status",
            "--url",
            "http://x",
            "--output",
            "json",
        ])
        .unwrap();
        assert_eq!(a.output, Format::Json);
        assert_eq!(b.output, Format::Json);
    }
}
