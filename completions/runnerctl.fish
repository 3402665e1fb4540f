# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_runnerctl_global_optspecs
    string join \n o/output= token= ca-cert= context= nats-url= nats-creds= nats-user= nats-password= nats-token= nats-nkey= nats-tls-ca= placement-bucket= registry-bucket= handoff-bucket= replicas= snapshot-bucket= stream= h/help V/version
end

function __fish_runnerctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_runnerctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_runnerctl_using_subcommand
    set -l cmd (__fish_runnerctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c runnerctl -n "__fish_runnerctl_needs_command" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_needs_command" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_needs_command" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_needs_command" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_needs_command" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_needs_command" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_needs_command" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_needs_command" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_needs_command" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_needs_command" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_needs_command" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_needs_command" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_needs_command" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_needs_command" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_needs_command" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_needs_command" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_needs_command" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -s V -l version -d 'Print version'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "status" -d 'Show a runner\'s status: state, tenants, checkpoints and lag, counters, problems'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "place" -d 'Place a tenant on a shard (compare-and-swap on the placement key). Refuses a shard that is not registered or is draining, and a tenant with state on another live shard, unless --force'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "unplace" -d 'Remove a tenant\'s placement: its shard releases it and no shard serves it'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "release" -d 'Accept that a tenant\'s state is lost: its shard came back with an empty volume (the tenant waits, "state lost"). Marks the tenant\'s claim released at the last position known for it; its shard then serves it after that position with empty state'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "placements" -d 'Every placed tenant: desired shard, actual owner, the owner\'s health, and a mismatch flag for tenants with no owner or an owner that is not the desired shard'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "watch" -d 'Live placement changes, and what the runners do about them, until Ctrl-C'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "history" -d 'The revisions of a tenant\'s placement, with who changed it, when and why'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "shards" -d 'Live shards from the registry: state, tenants, heartbeat age, admin URL'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "cordon" -d 'Keep new tenants off a shard: it keeps serving the tenants it has, and place, move and rebalance do not pick it as a target (--ignore-cordon overrides). Shown by `shards`, the dashboard and the runner\'s status'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "snapshot" -d 'Take a snapshot of a shard\'s volume now and store it in the snapshot bucket (the runner also takes them every RUNNER_SNAPSHOT_EVERY). Waits until it is stored'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "snapshots" -d 'List the snapshots in the snapshot bucket, oldest first: all shards\', or one\'s'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "restore" -d 'Write a shard\'s volume from a snapshot (the newest unless --snapshot), verified, into a new directory to start the shard\'s runner on. Refuses (exit 7) when the event stream no longer holds events since the snapshot, unless --accept-loss'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "check" -d 'Fleet health against thresholds, for monitoring: shards present and heartbeating, admin APIs answering, lag, outbox age, dead letters, mismatched placements. Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (NATS unreachable), with a Nagios-style summary line and performance data'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "uncordon" -d 'Let placement tools pick a cordoned shard again'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "drain" -d 'Drain a runner: stop reading, commit what is in flight, flush the outbox, hold timers; follow it until drained. For a rolling restart or maintenance'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "resume" -d 'Return a drained (or draining) runner to service'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "replay" -d 'Re-read a tenant\'s saga from the stream after resetting what the mode says; shows the dry-run preview first and asks before destructive modes'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "get" -d 'Live lookups through a runner\'s admin API (read-only): the same output as `inspect` gives for a stopped shard\'s volume, without access to the runner\'s filesystem'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "dlq" -d 'Dead letters, the events the runners could not use: list them, show one in full, and redrive them to their original subjects once the cause is fixed'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "move" -d 'Move a tenant with its state to another shard: release, export, import, flip the placement, clean up. Resumable: rerun to finish, --abort to roll back'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "rebalance" -d 'Propose, and with --apply carry out, the moves that put each partition group on one shard and spread the load: from measured events/s per tenant and read cost. Moves go with the tenants\' state, as `move` does'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "migrate" -d 'Move the fleet from the single event stream to partition group streams: create them, print the server mapping, seal the single stream, wait until every shard has read it to its end. Rerun it at each step; it says the next one'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "setup" -d 'Create the streams and KV buckets a fleet uses, up front, with --replicas copies (the runners create what is missing themselves, with RUNNER_REPLICAS); show the copies each one keeps, and raise them with --update'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "tui" -d 'The live dashboard of the fleet (shards, tenants, lag, changes; drain, resume, replay, move), or of a stopped volume with --volume'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "inspect" -d 'Look inside a stopped shard\'s volume, read-only: summary, tenants, sagas, instances, checkpoints, dedupe markers, outbox, timers, export, diff'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "dev" -d 'Start a local stack (nats-server with JetStream, placed runner shards on temporary volumes, a generator of sample events) and watch it; Ctrl-C stops and removes it'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "config" -d 'The merged configuration (flags > environment > config-file context > defaults) and where each setting comes from; secrets are never shown'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish). The generated files are also in completions/'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "man" -d 'Write the man pages (runnerctl.1 and one per command) into a directory. The generated pages are also in docs/man/'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l url -d 'The runner\'s admin URL instead (works without the registry)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l watch -d 'Refresh every INTERVAL (e.g. 2s) until Ctrl-C' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l expect -d 'Write only if the tenant is placed on this shard now ("-": not placed at all)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l reason -d 'Why, for the audit trail (`runnerctl history`)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l force -d 'Place even if the shard is not registered or is draining, or the tenant has state on another live shard (it then starts empty on the new shard)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l create -d 'Create the placement bucket if it does not exist'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -l ignore-cordon -d 'Place on the shard even if it is cordoned (`runnerctl cordon`)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand place" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -l expect -d 'Remove only if the tenant is placed on this shard now' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -l reason -d 'Why, for the audit trail' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand unplace" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -l reason -d 'Why, for the audit trail' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -l accept-state-loss -d 'Required: you accept that the state the tenant had on its shard\'s lost volume is gone (instances, timers, dedupe markers)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand release" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand placements" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand placements" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand placements" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand placements" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand placements" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand placements" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand placements" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand placements" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand placements" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand placements" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand placements" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand placements" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand placements" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand placements" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand placements" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand placements" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand placements" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand placements" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand watch" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand watch" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand watch" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand watch" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand watch" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand watch" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand watch" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand watch" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand watch" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand watch" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand watch" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand watch" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand watch" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand watch" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand watch" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand watch" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand watch" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand history" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand history" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand history" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand history" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand history" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand history" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand history" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand history" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand history" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand history" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand history" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand history" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand history" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand history" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand history" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand history" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand history" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand history" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand shards" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand shards" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand shards" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand shards" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand shards" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand shards" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand shards" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand shards" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand shards" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand shards" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand shards" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand shards" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand shards" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand shards" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand shards" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand shards" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand shards" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand shards" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand cordon" -l reason -d 'Why, shown with the cordon (cordon only)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand cordon" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand cordon" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand cordon" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand cordon" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand cordon" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand cordon" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand cordon" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand cordon" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand cordon" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand cordon" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand cordon" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand cordon" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand cordon" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand cordon" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand cordon" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand cordon" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand cordon" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand cordon" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -l url -d 'The runner\'s admin URL instead (works without the registry)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -l timeout -d 'How long to wait for the snapshot to be stored' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshot" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshots" -l snapshot -d 'Show what this snapshot of the shard holds: every tenant\'s position and each saga\'s checkpoint' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshots" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshots" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshots" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshots" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshots" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshots" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshots" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshots" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshots" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshots" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshots" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshots" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshots" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshots" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshots" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshots" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshots" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand snapshots" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -l snapshot -d 'The snapshot\'s id (`runnerctl snapshots <shard>`); the newest by default' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -l to -d 'The directory to write the volume into: new or empty (never the live volume)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -l accept-loss -d 'Write it even though the event stream no longer holds some events since the snapshot; the runner then serves it without them (recorded in the volume)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand restore" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l lag-warn -d 'Lag (stream sequences not yet applied, the worst tenant+saga) that warns' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l lag-crit -d 'Lag that is critical' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l outbox-age-warn -d 'Age of the oldest outbox message (any shard) that warns' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l outbox-age-crit -d 'Outbox age that is critical' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l heartbeat-warn -d 'Heartbeat age (the oldest shard\'s) that warns; heartbeats go every third of the lease time (15 s by default)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l heartbeat-crit -d 'Heartbeat age that is critical' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l dlq-warn -d 'Dead letters within --dlq-window that warn' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l dlq-crit -d 'Dead letters within --dlq-window that are critical' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l dlq-window -d 'How far back dead letters count' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l dlq-stream -d 'The dead-letter stream (the runners\' RUNNER_DLQ_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l mismatch-warn -d 'Mismatched placements (a tenant not served where it is placed) that warn' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l mismatch-crit -d 'Mismatched placements that are critical' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l expect-shards -d 'Shards that must be in the registry (critical when one is not), comma-separated' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand uncordon" -l reason -d 'Why, shown with the cordon (cordon only)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand uncordon" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand uncordon" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand uncordon" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand uncordon" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand uncordon" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand uncordon" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand uncordon" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand uncordon" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand uncordon" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand uncordon" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand uncordon" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand uncordon" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand uncordon" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand uncordon" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand uncordon" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand uncordon" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand uncordon" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand uncordon" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l url -d 'The runner\'s admin URL instead (works without the registry)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l timeout -d 'How long to wait for the drain; then list what blocks and exit 8' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l flush-timeout -d 'How long the runner may spend flushing its outbox before it counts as drained (entries left are published after resume or at the next start)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -l no-wait -d 'Start the drain and return at once'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand drain" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand resume" -l url -d 'The runner\'s admin URL instead (works without the registry)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand resume" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand resume" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand resume" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand resume" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand resume" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand resume" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand resume" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand resume" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand resume" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand resume" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand resume" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand resume" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand resume" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand resume" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand resume" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand resume" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand resume" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand resume" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l tenant -d 'The tenant' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l saga -d 'The saga' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l mode -d 'What to reset before the re-read' -r -f -a "checkpoint_only\t''
checkpoint_and_dedupe\t''
full_reset\t''"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l shard -d 'The shard serving the tenant (default: found from the tenant\'s claim)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l url -d 'The runner\'s admin URL instead' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l timeout -d 'How long to follow the replay before giving up (it keeps running); exit 8' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -l dry-run -d 'Show the preview and stop'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -s y -l yes -d 'Proceed without asking (required without a terminal for destructive modes and retention warnings)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand replay" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -f -a "instance" -d 'One instance: state, version, data, timers, history'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -f -a "instances" -d 'A page of a saga\'s instances, in key order'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and not __fish_seen_subcommand_from instance instances help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l tenant -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l saga -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l key -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l shard -d 'The shard serving the tenant (default: found from the tenant\'s claim)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l url -d 'The runner\'s admin URL instead' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instance" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l tenant -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l saga -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l state -d 'Only instances in this state' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l limit -d 'Most rows in the page (1-1000)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l after -d 'Start after this instance key (the previous page\'s `next_after`)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l shard -d 'The shard serving the tenant (default: found from the tenant\'s claim)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l url -d 'The runner\'s admin URL instead' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from instances" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from help" -f -a "instance" -d 'One instance: state, version, data, timers, history'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from help" -f -a "instances" -d 'A page of a saga\'s instances, in key order'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand get; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -l dlq-stream -d 'The dead-letter stream (the runners\' RUNNER_DLQ_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -f -a "ls" -d 'List dead letters in stream order (newest last): sequence, time, tenant, saga, reason, original subject and sequence, event id'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -f -a "show" -d 'One dead letter in full: every header, the payload (pretty JSON when it is JSON), whether it was truncated and whether it can be redriven'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -f -a "redrive" -d 'Publish dead letters\' events again to their original subjects, with a Nats-Msg-Id per dead letter (the event stream drops a second redrive within its duplicate window; the runner skips an event id it applied). Dead letters that cannot be redriven are skipped with the reason. Nothing is deleted from the dead-letter stream'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and not __fish_seen_subcommand_from ls show redrive help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l tenant -d 'Only this tenant\'s dead letters' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l saga -d 'Only this saga\'s' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l reason -d 'Only these reason codes (the Runner-Dlq-Code header), comma-separated: bad_json, bad_envelope, bad_field, too_large, unknown_saga, apply_failed, conflicting_duplicate, invalid_subject, wrong_group' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l since -d 'Only dead letters stored at or after this: a time (RFC 3339, e.g. 2026-11-25T10:00:00Z) or a duration ago (1h, 30m)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l until -d 'Only dead letters stored at or before this: a time or a duration ago' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l limit -d 'Most dead letters shown, the newest of those matching (0: all); how many more matched is said on stderr' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l dlq-stream -d 'The dead-letter stream (the runners\' RUNNER_DLQ_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l dlq-stream -d 'The dead-letter stream (the runners\' RUNNER_DLQ_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l tenant -d 'Only this tenant\'s dead letters' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l saga -d 'Only this saga\'s' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l reason -d 'Only these reason codes (the Runner-Dlq-Code header), comma-separated: bad_json, bad_envelope, bad_field, too_large, unknown_saga, apply_failed, conflicting_duplicate, invalid_subject, wrong_group' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l since -d 'Only dead letters stored at or after this: a time (RFC 3339, e.g. 2026-11-25T10:00:00Z) or a duration ago (1h, 30m)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l until -d 'Only dead letters stored at or before this: a time or a duration ago' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l dlq-stream -d 'The dead-letter stream (the runners\' RUNNER_DLQ_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l all -d 'Every dead letter in the stream (needed when neither sequences nor a filter is given)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -l dry-run -d 'Show the plan (what would be published where, what is skipped and why) and publish nothing'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -s y -l yes -d 'Publish without asking (required without a terminal)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from redrive" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List dead letters in stream order (newest last): sequence, time, tenant, saga, reason, original subject and sequence, event id'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from help" -f -a "show" -d 'One dead letter in full: every header, the payload (pretty JSON when it is JSON), whether it was truncated and whether it can be redriven'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from help" -f -a "redrive" -d 'Publish dead letters\' events again to their original subjects, with a Nats-Msg-Id per dead letter (the event stream drops a second redrive within its duplicate window; the runner skips an event id it applied). Dead letters that cannot be redriven are skipped with the reason. Nothing is deleted from the dead-letter stream'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dlq; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l to -d 'The shard to move it to' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l reason -d 'Why, for the audit trail' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l from-snapshot -d 'The shard that served the tenant is gone for good: take the tenant\'s state from its newest snapshot holding it (or snapshot ID) instead; the target re-applies the events since the snapshot and publishes nothing that was published already' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l timeout -d 'How long to wait for each phase (release, the target taking over)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l keep-source -d 'Keep the tenant\'s copy on the source shard after the move'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l dry-run -d 'Print the plan with the counts that would move, and change nothing'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l abort -d 'Roll an unfinished move back: the source serves the tenant again'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l ignore-cordon -d 'Move even onto a cordoned shard (`runnerctl cordon`)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -l accept-loss -d 'With --from-snapshot: go on although the event stream no longer holds some of the tenant\'s events since the snapshot (they are lost)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand move" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l window -d 'Measure each tenant\'s events/s over this long (the events the streams hold when nothing is published meanwhile)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l tolerance -d 'How far above the mean load a shard may stay (a fraction of it)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l concurrency -d 'Moves at once' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l timeout -d 'How long each move may wait for each of its phases' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l reason -d 'Why, for the audit trail of every move' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l apply -d 'Carry the plan out (it is saved first, so --resume can finish it)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l resume -d 'Finish the rebalance that was interrupted, as planned then'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l discard -d 'Forget an interrupted rebalance\'s plan (moves made stay made)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -l ignore-cordon -d 'Treat cordoned shards like the others: move tenants onto and off them'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand rebalance" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l partitions -d 'The number of partition groups to move to (the runners\' RUNNER_PARTITIONS after)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l timeout -d 'How long to wait for the shards to finish the sealed stream' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l seal -d 'Seal the single stream (once it no longer receives events), then wait until every live shard has read it to its end'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l force -d 'With --seal: seal even though the single stream still receives events'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -l allow-unplaced -d 'With --seal: seal even though tenants with events in it have no placement (their events stay in the sealed stream, unapplied)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l partitions -d 'Partition groups of the layout (the runners\' RUNNER_PARTITIONS); default: what the fleet\'s streams say (0, the single stream, when there are none yet)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l commands-stream -d 'The command stream (the runners\' RUNNER_COMMANDS_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l dlq-stream -d 'The dead-letter stream (the runners\' RUNNER_DLQ_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l lease-ttl -d 'The lease time of a registry bucket created here (the runners\' RUNNER_LEASE_TTL)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -l update -d 'Raise the replicas of what exists with fewer copies than wanted'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand setup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l volume -d 'Browse this stopped volume instead of the live fleet' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l refresh -d 'How often the runners\' admin APIs are polled (+/- change it live)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l log-file -d 'Where the dashboard logs while it runs (the change log, NATS and HTTP errors); default $XDG_STATE_HOME/runnerctl/tui.log (~/.local/state/...). Level: RUNNERCTL_LOG' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l allow-live -d 'With --volume: read a volume a live runner holds (a snapshot)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -l readonly -d 'Offer no action that changes anything'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand tui" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -l allow-live -d 'Read a volume a live runner holds (a consistent snapshot; says so)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -a "summary" -d 'Format, shard, size, last write, entries per table and per tenant'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -a "tenants" -d 'Tenants with their entry counts and read positions'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -a "sagas" -d 'A tenant\'s sagas with their counts and checkpoints'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -a "instances" -d 'A page of a saga\'s instances, in key order'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -a "instance" -d 'One instance: state, version, data, timers, history'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -a "checkpoints" -d 'Checkpoints (last stream sequence applied) per tenant and saga'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -a "dedupe" -d 'A page of a saga\'s dedupe markers (applied event ids), in id order'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -a "outbox" -d 'Outbox entries waiting to be published, in write order'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -a "timers" -d 'Pending timers'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -a "export" -d 'A tenant\'s state in the export format (JSON lines, see docs/inspect.md), to stdout'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -a "diff" -d 'What differs from another volume, per table and key; exit 1 when anything does'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and not __fish_seen_subcommand_from summary tenants sagas instances instance checkpoints dedupe outbox timers export diff help" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from summary" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from summary" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from summary" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from summary" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from summary" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from summary" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from summary" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from summary" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from summary" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from summary" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from summary" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from summary" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from summary" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from summary" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from summary" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from summary" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from summary" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from summary" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from tenants" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from tenants" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from tenants" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from tenants" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from tenants" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from tenants" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from tenants" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from tenants" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from tenants" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from tenants" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from tenants" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from tenants" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from tenants" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from tenants" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from tenants" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from tenants" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from tenants" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from tenants" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from sagas" -l tenant -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from sagas" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from sagas" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from sagas" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from sagas" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from sagas" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from sagas" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from sagas" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from sagas" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from sagas" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from sagas" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from sagas" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from sagas" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from sagas" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from sagas" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from sagas" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from sagas" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from sagas" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from sagas" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l tenant -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l saga -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l state -d 'Only instances in this state' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l limit -d 'Most rows in the page' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l after -d 'Start after this instance key (the previous page\'s `next_after`)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instances" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -l tenant -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -l saga -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -l key -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from instance" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from checkpoints" -l tenant -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from checkpoints" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from checkpoints" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from checkpoints" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from checkpoints" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from checkpoints" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from checkpoints" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from checkpoints" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from checkpoints" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from checkpoints" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from checkpoints" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from checkpoints" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from checkpoints" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from checkpoints" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from checkpoints" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from checkpoints" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from checkpoints" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from checkpoints" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from checkpoints" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l tenant -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l saga -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l limit -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l after -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from dedupe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -l tenant -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -l limit -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from outbox" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -l tenant -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -l due-before -d 'Only timers due before this time (RFC 3339, e.g. 2026-11-25T12:00:00Z)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -l limit -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from timers" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -l tenant -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -l saga -d 'Only these sagas (repeat the flag); default all' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -l tenant -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -l limit -d 'Differing keys shown per table' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from help" -f -a "summary" -d 'Format, shard, size, last write, entries per table and per tenant'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from help" -f -a "tenants" -d 'Tenants with their entry counts and read positions'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from help" -f -a "sagas" -d 'A tenant\'s sagas with their counts and checkpoints'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from help" -f -a "instances" -d 'A page of a saga\'s instances, in key order'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from help" -f -a "instance" -d 'One instance: state, version, data, timers, history'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from help" -f -a "checkpoints" -d 'Checkpoints (last stream sequence applied) per tenant and saga'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from help" -f -a "dedupe" -d 'A page of a saga\'s dedupe markers (applied event ids), in id order'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from help" -f -a "outbox" -d 'Outbox entries waiting to be published, in write order'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from help" -f -a "timers" -d 'Pending timers'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from help" -f -a "export" -d 'A tenant\'s state in the export format (JSON lines, see docs/inspect.md), to stdout'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from help" -f -a "diff" -d 'What differs from another volume, per table and key; exit 1 when anything does'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand inspect; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l tenants -d 'Tenants placed on the shards and written to by the generator' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l rate -d 'Sample events per second, over all tenants' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l shards -d 'Runner shards to start (shard-a, shard-b, ...); tenants are placed round-robin' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l admin-addr -d 'Admin address of the first runner; the next ones take the following ports' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l nats-port -d 'NATS port (a free one if taken); with --cluster, the ports are free ones' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l cluster -d 'NATS servers: 1, or a JetStream cluster of 3 to 5 on loopback (streams and buckets then keep 3 copies; kill a node to watch the fleet ride it out)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l runner-bin -d 'The runner binary (default: the one next to runnerctl, else on PATH)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l sagas -d 'Saga file (default: the example sagas shipped with runnerctl)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l keep -d 'Keep the runner\'s volume and the NATS store after stopping (their paths are printed)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l no-view -d 'Print where everything is and progress lines instead of the live status view'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -f -a "show" -d 'Every setting, its value (secrets hidden) and its source'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -f -a "contexts" -d 'The config file\'s contexts, the current one marked'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -f -a "use-context" -d 'Make a context the current one (the file\'s current_context; comments and layout kept)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and not __fish_seen_subcommand_from show contexts use-context help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from show" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from show" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from show" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from show" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from show" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from show" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from show" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from show" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from show" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from show" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from show" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from show" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from show" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from show" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from show" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from show" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from contexts" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from contexts" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from contexts" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from contexts" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from contexts" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from contexts" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from contexts" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from contexts" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from contexts" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from contexts" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from contexts" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from contexts" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from contexts" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from contexts" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from contexts" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from contexts" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from contexts" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from contexts" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from use-context" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from use-context" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from use-context" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from use-context" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from use-context" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from use-context" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from use-context" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from use-context" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from use-context" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from use-context" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from use-context" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from use-context" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from use-context" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from use-context" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from use-context" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from use-context" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from use-context" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from use-context" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Every setting, its value (secrets hidden) and its source'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "contexts" -d 'The config file\'s contexts, the current one marked'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "use-context" -d 'Make a context the current one (the file\'s current_context; comments and layout kept)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand man" -l out-dir -d 'Where to write the pages (created if missing)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand man" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand man" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand man" -l ca-cert -d 'CA certificate(s) (PEM) to trust, besides the system\'s, for https:// admin URLs (a TLS proxy or ingress in front of the runners)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand man" -l context -d 'A context of the config file (NATS, buckets, token, output); default: the file\'s current_context' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand man" -l nats-url -d 'NATS server URL, or several comma-separated (nats://a:4222,nats://b:4222)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand man" -l nats-creds -d 'NATS credentials file' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand man" -l nats-user -d 'NATS user (with --nats-password)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand man" -l nats-password -d 'NATS password' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand man" -l nats-token -d 'NATS token' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand man" -l nats-nkey -d 'File holding an nkey seed' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand man" -l nats-tls-ca -d 'CA certificate (PEM) to verify the NATS server; enables TLS' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand man" -l placement-bucket -d 'KV bucket of the tenant placement (the runners\' RUNNER_TENANT_PLACEMENT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand man" -l registry-bucket -d 'KV bucket of the shard registry (the runners\' RUNNER_REGISTRY_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand man" -l handoff-bucket -d 'KV bucket of the hand-over records (the runners\' RUNNER_HANDOFF_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand man" -l replicas -d 'Copies kept of each stream and KV bucket runnerctl creates: auto (1 on a single server, 3 on a cluster of three or more) or 1-5 (the runners\' RUNNER_REPLICAS)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand man" -l snapshot-bucket -d 'Object Store bucket of the shard snapshots (the runners\' RUNNER_SNAPSHOT_BUCKET)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand man" -l stream -d 'The event stream (the runners\' RUNNER_STREAM)' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "status" -d 'Show a runner\'s status: state, tenants, checkpoints and lag, counters, problems'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "place" -d 'Place a tenant on a shard (compare-and-swap on the placement key). Refuses a shard that is not registered or is draining, and a tenant with state on another live shard, unless --force'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "unplace" -d 'Remove a tenant\'s placement: its shard releases it and no shard serves it'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "release" -d 'Accept that a tenant\'s state is lost: its shard came back with an empty volume (the tenant waits, "state lost"). Marks the tenant\'s claim released at the last position known for it; its shard then serves it after that position with empty state'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "placements" -d 'Every placed tenant: desired shard, actual owner, the owner\'s health, and a mismatch flag for tenants with no owner or an owner that is not the desired shard'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "watch" -d 'Live placement changes, and what the runners do about them, until Ctrl-C'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "history" -d 'The revisions of a tenant\'s placement, with who changed it, when and why'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "shards" -d 'Live shards from the registry: state, tenants, heartbeat age, admin URL'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "cordon" -d 'Keep new tenants off a shard: it keeps serving the tenants it has, and place, move and rebalance do not pick it as a target (--ignore-cordon overrides). Shown by `shards`, the dashboard and the runner\'s status'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "snapshot" -d 'Take a snapshot of a shard\'s volume now and store it in the snapshot bucket (the runner also takes them every RUNNER_SNAPSHOT_EVERY). Waits until it is stored'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "snapshots" -d 'List the snapshots in the snapshot bucket, oldest first: all shards\', or one\'s'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "restore" -d 'Write a shard\'s volume from a snapshot (the newest unless --snapshot), verified, into a new directory to start the shard\'s runner on. Refuses (exit 7) when the event stream no longer holds events since the snapshot, unless --accept-loss'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "check" -d 'Fleet health against thresholds, for monitoring: shards present and heartbeating, admin APIs answering, lag, outbox age, dead letters, mismatched placements. Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (NATS unreachable), with a Nagios-style summary line and performance data'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "uncordon" -d 'Let placement tools pick a cordoned shard again'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "drain" -d 'Drain a runner: stop reading, commit what is in flight, flush the outbox, hold timers; follow it until drained. For a rolling restart or maintenance'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "resume" -d 'Return a drained (or draining) runner to service'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "replay" -d 'Re-read a tenant\'s saga from the stream after resetting what the mode says; shows the dry-run preview first and asks before destructive modes'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "get" -d 'Live lookups through a runner\'s admin API (read-only): the same output as `inspect` gives for a stopped shard\'s volume, without access to the runner\'s filesystem'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "dlq" -d 'Dead letters, the events the runners could not use: list them, show one in full, and redrive them to their original subjects once the cause is fixed'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "move" -d 'Move a tenant with its state to another shard: release, export, import, flip the placement, clean up. Resumable: rerun to finish, --abort to roll back'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "rebalance" -d 'Propose, and with --apply carry out, the moves that put each partition group on one shard and spread the load: from measured events/s per tenant and read cost. Moves go with the tenants\' state, as `move` does'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "migrate" -d 'Move the fleet from the single event stream to partition group streams: create them, print the server mapping, seal the single stream, wait until every shard has read it to its end. Rerun it at each step; it says the next one'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "setup" -d 'Create the streams and KV buckets a fleet uses, up front, with --replicas copies (the runners create what is missing themselves, with RUNNER_REPLICAS); show the copies each one keeps, and raise them with --update'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "tui" -d 'The live dashboard of the fleet (shards, tenants, lag, changes; drain, resume, replay, move), or of a stopped volume with --volume'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "inspect" -d 'Look inside a stopped shard\'s volume, read-only: summary, tenants, sagas, instances, checkpoints, dedupe markers, outbox, timers, export, diff'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "dev" -d 'Start a local stack (nats-server with JetStream, placed runner shards on temporary volumes, a generator of sample events) and watch it; Ctrl-C stops and removes it'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "config" -d 'The merged configuration (flags > environment > config-file context > defaults) and where each setting comes from; secrets are never shown'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish). The generated files are also in completions/'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "man" -d 'Write the man pages (runnerctl.1 and one per command) into a directory. The generated pages are also in docs/man/'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status place unplace release placements watch history shards cordon snapshot snapshots restore check uncordon drain resume replay get dlq move rebalance migrate setup tui inspect dev config completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and __fish_seen_subcommand_from get" -f -a "instance" -d 'One instance: state, version, data, timers, history'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and __fish_seen_subcommand_from get" -f -a "instances" -d 'A page of a saga\'s instances, in key order'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and __fish_seen_subcommand_from dlq" -f -a "ls" -d 'List dead letters in stream order (newest last): sequence, time, tenant, saga, reason, original subject and sequence, event id'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and __fish_seen_subcommand_from dlq" -f -a "show" -d 'One dead letter in full: every header, the payload (pretty JSON when it is JSON), whether it was truncated and whether it can be redriven'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and __fish_seen_subcommand_from dlq" -f -a "redrive" -d 'Publish dead letters\' events again to their original subjects, with a Nats-Msg-Id per dead letter (the event stream drops a second redrive within its duplicate window; the runner skips an event id it applied). Dead letters that cannot be redriven are skipped with the reason. Nothing is deleted from the dead-letter stream'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and __fish_seen_subcommand_from inspect" -f -a "summary" -d 'Format, shard, size, last write, entries per table and per tenant'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and __fish_seen_subcommand_from inspect" -f -a "tenants" -d 'Tenants with their entry counts and read positions'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and __fish_seen_subcommand_from inspect" -f -a "sagas" -d 'A tenant\'s sagas with their counts and checkpoints'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and __fish_seen_subcommand_from inspect" -f -a "instances" -d 'A page of a saga\'s instances, in key order'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and __fish_seen_subcommand_from inspect" -f -a "instance" -d 'One instance: state, version, data, timers, history'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and __fish_seen_subcommand_from inspect" -f -a "checkpoints" -d 'Checkpoints (last stream sequence applied) per tenant and saga'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and __fish_seen_subcommand_from inspect" -f -a "dedupe" -d 'A page of a saga\'s dedupe markers (applied event ids), in id order'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and __fish_seen_subcommand_from inspect" -f -a "outbox" -d 'Outbox entries waiting to be published, in write order'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and __fish_seen_subcommand_from inspect" -f -a "timers" -d 'Pending timers'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and __fish_seen_subcommand_from inspect" -f -a "export" -d 'A tenant\'s state in the export format (JSON lines, see docs/inspect.md), to stdout'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and __fish_seen_subcommand_from inspect" -f -a "diff" -d 'What differs from another volume, per table and key; exit 1 when anything does'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Every setting, its value (secrets hidden) and its source'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "contexts" -d 'The config file\'s contexts, the current one marked'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "use-context" -d 'Make a context the current one (the file\'s current_context; comments and layout kept)'
