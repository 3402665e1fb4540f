# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_runnerctl_global_optspecs
    string join \n o/output= token= h/help V/version
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
complete -c runnerctl -n "__fish_runnerctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -s V -l version -d 'Print version'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "status" -d 'Show a runner\'s status: state, tenants, checkpoints and lag, counters, problems'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "dev" -d 'Start a local stack (nats-server with JetStream, a runner on a temporary volume, a generator of sample events) and watch it; Ctrl-C stops and removes it'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish). The generated files are also in completions/'
complete -c runnerctl -n "__fish_runnerctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l url -d 'The runner\'s admin URL (its RUNNER_ADMIN_ADDR), e.g. http://127.0.0.1:7070' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l watch -d 'Refresh every INTERVAL (e.g. 2s) until Ctrl-C' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l tenants -d 'Tenants the runner serves and the generator writes to' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l rate -d 'Sample events per second, over all tenants' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l admin-addr -d 'Admin address of the runner' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l runner-bin -d 'The runner binary (default: the one next to runnerctl, else on PATH)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l sagas -d 'Saga file (default: the example sagas shipped with runnerctl)' -r -F
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l keep -d 'Keep the runner\'s volume and the NATS store after stopping (their paths are printed)'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -l no-view -d 'Print where everything is and progress lines instead of the live status view'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand dev" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -s o -l output -d 'Output format: table for people, json for scripts' -r -f -a "table\t'Aligned columns for people'
json\t'One JSON document, with stable field names, for scripts'"
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -l token -d 'Bearer token for runners started with RUNNER_ADMIN_TOKEN' -r
complete -c runnerctl -n "__fish_runnerctl_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status dev completions help" -f -a "status" -d 'Show a runner\'s status: state, tenants, checkpoints and lag, counters, problems'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status dev completions help" -f -a "dev" -d 'Start a local stack (nats-server with JetStream, a runner on a temporary volume, a generator of sample events) and watch it; Ctrl-C stops and removes it'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status dev completions help" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish). The generated files are also in completions/'
complete -c runnerctl -n "__fish_runnerctl_using_subcommand help; and not __fish_seen_subcommand_from status dev completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
