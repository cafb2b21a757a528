# bash completion for warren(8): its commands, interface names (from the
# UAPI sockets) and tunnel names (from /etc/wireguard/*.conf).
# Installed as /usr/share/bash-completion/completions/warren.

# The interfaces whose UAPI sockets this user can see, as warren finds them.
_warren_interfaces()
{
    local dir f
    local -a dirs
    if [[ -n ${WARREN_SOCKET_DIR-} ]]; then
        dirs=("$WARREN_SOCKET_DIR")
    else
        dirs=(/var/run/wireguard)
        [[ -n ${XDG_RUNTIME_DIR-} ]] && dirs+=("$XDG_RUNTIME_DIR/warren")
    fi
    for dir in "${dirs[@]}"; do
        for f in "$dir"/*.sock; do
            [[ -S $f ]] || continue
            f=${f##*/}
            printf '%s\n' "${f%.sock}"
        done
    done
}

# Where warren up looks for NAME.conf, as wg-quick (readable by root only,
# usually).
_warren_config_dirs=(/etc/wireguard /usr/local/etc/wireguard)

# The tunnels those directories hold.
_warren_configs()
{
    local dir f
    for dir in "${_warren_config_dirs[@]}"; do
        for f in "$dir"/*.conf; do
            [[ -e $f ]] || continue
            f=${f##*/}
            printf '%s\n' "${f%.conf}"
        done
    done
}

# _warren_reply WORDS...: offer WORDS matching the current word.
_warren_reply()
{
    local IFS=$'\n'
    COMPREPLY+=($(compgen -W "$*" -- "$cur"))
}

# _warren_files [GLOB]: offer files (matching GLOB) and directories.
_warren_files()
{
    local IFS=$'\n'
    if [[ -n ${1-} ]]; then
        COMPREPLY+=($(compgen -f -X "!$1" -- "$cur") $(compgen -d -- "$cur"))
    else
        COMPREPLY+=($(compgen -f -- "$cur"))
    fi
    compopt -o filenames 2>/dev/null
}

_warren()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local commands="up down save strip show showconf set setconf addconf syncconf genkey genpsk pubkey daemon proxy demo selftest manager help version"
    COMPREPLY=()
    if ((COMP_CWORD == 1)); then
        _warren_reply $commands --help --version
        return
    fi
    local cmd=${COMP_WORDS[1]} n=$((COMP_CWORD - 1))
    if [[ $cur == -* && $cmd != set ]]; then
        case $cmd in
        daemon) _warren_reply -f --foreground -h --help --version ;;
        proxy) _warren_reply --socks5 --http --forward --name --max-conns --max-conns-per-source \
            --max-udp-flows --max-udp-flows-per-source --max-udp-assocs --max-udp-assocs-per-source \
            --tcp-idle -h --help ;;
        demo) _warren_reply --size -h --help ;;
        selftest) _warren_reply --netns -h --help ;;
        manager) _warren_reply --listen --tls-cert --tls-key --host --config-dir --state --metrics \
            --metrics-token-file --allow-hooks -h --help ;;
        *) _warren_reply -h --help ;;
        esac
        return
    fi
    case $cmd in
    up | down | save | strip)
        if ((n == 1)); then
            _warren_reply $(_warren_configs)
            _warren_files '*.conf'
        fi
        ;;
    show)
        if ((n == 1)); then
            _warren_reply all interfaces $(_warren_interfaces)
        elif ((n == 2)) && [[ $prev != interfaces ]]; then
            _warren_reply public-key private-key listen-port fwmark peers preshared-keys endpoints \
                allowed-ips latest-handshakes transfer persistent-keepalive dump
        fi
        ;;
    showconf)
        ((n == 1)) && _warren_reply $(_warren_interfaces)
        ;;
    setconf | addconf | syncconf)
        if ((n == 1)); then
            _warren_reply $(_warren_interfaces)
        elif ((n == 2)); then
            _warren_files
        fi
        ;;
    set)
        if ((n == 1)); then
            _warren_reply $(_warren_interfaces)
        else
            case $prev in
            private-key | preshared-key) _warren_files ;;
            listen-port | fwmark | peer | endpoint | persistent-keepalive | allowed-ips) ;;
            *) _warren_reply listen-port fwmark private-key peer remove preshared-key endpoint \
                persistent-keepalive allowed-ips ;;
            esac
        fi
        ;;
    proxy)
        case $prev in
        --socks5 | --http | --forward | --name | --max-* | --tcp-idle) ;;
        *) _warren_files '*.conf' ;;
        esac
        ;;
    selftest)
        if [[ $prev == --netns ]]; then
            local f
            for f in /run/netns/*; do [[ -e $f ]] && _warren_reply "${f##*/}"; done
        fi
        ;;
    manager)
        case $prev in
        --tls-cert | --tls-key | --metrics-token-file) _warren_files ;;
        --config-dir | --state) local IFS=$'\n'; COMPREPLY+=($(compgen -d -- "$cur")); compopt -o filenames 2>/dev/null ;;
        esac
        ;;
    help)
        ((n == 1)) && _warren_reply $commands
        ;;
    esac
}
complete -F _warren warren
