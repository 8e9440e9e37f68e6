#!/bin/sh
# A throw-away OpenSSH server for the tests of the ssh backend: in a temp directory, on a free
# loopback port, with a generated host key and a generated client key, never as a system service.
#
#   tests/sshd.sh run CMD [ARG...]   start sshd, run CMD with the variables below exported, stop
#                                    sshd (also when CMD fails or is interrupted); exits with CMD's
#                                    status. When the variables already point at a running sshd
#                                    (a nested make), CMD just runs.
#   tests/sshd.sh start DIR          start sshd with its files in DIR (created) and write DIR/env,
#                                    a file to source: `. DIR/env`
#   tests/sshd.sh stop DIR           stop the sshd of DIR (and only it) and delete DIR
#
# tests/servers.sh runs `start` and `stop` itself, so `make test` has sshd next to the databases.
#
# Exported (see tests/README.md): OSIRIS_TEST_HAVE_SSH=1, OSIRIS_TEST_SSH_CONFIG (an ssh_config
# whose Host osiris-test carries everything: port, user, key, pinned host key, BatchMode),
# OSIRIS_TEST_SSH_HOST=osiris-test, and the same facts one by one for a client that takes no
# ssh_config: OSIRIS_TEST_SSH_HOSTNAME (127.0.0.1), _PORT, _USER, _KEY (the client's private key),
# _KNOWN_HOSTS (the host key, pinned), _URL (ssh://user@127.0.0.1:port), _DIR.
# If sshd cannot start, the reason goes to stderr and nothing is exported, so `# requires: ssh`
# cases skip; with REQUIRE_SERVERS=1 `run` fails instead.
#
# Files in DIR: sshd_config, host_key (ed25519), client_key (ed25519), authorized_keys,
# known_hosts, ssh_config, sshd.pid, sshd.log (LogLevel VERBOSE: why a login was refused), env.
set -eu

die() {
	echo "sshd.sh: $*" >&2
	exit 1
}

# shellcheck source=tests/lib/ports.sh
. "$(cd "$(dirname "$0")" && pwd)/lib/ports.sh"

# Whether PID runs: a zombie counts as gone, since our sshd is reparented to init, which may take
# a while to reap it.
alive() { # alive PID
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$state" ] && [ "$state" != Z ]
}

# sshd refuses to start unless it is run by its absolute path (it re-executes itself per
# connection), so it is looked up where Debian puts it rather than on PATH.
sshd_bin() {
	for b in /usr/sbin/sshd /usr/local/sbin/sshd; do
		[ -x "$b" ] && echo "$b" && return
	done
	return 1
}

# The pid in DIR/sshd.pid when that process is the sshd started with DIR's config: a stale pid
# file whose number now belongs to another process must never lead to killing that process.
our_pid() { # our_pid DIR
	[ -f "$1/sshd.pid" ] || return 1
	pid=$(cat "$1/sshd.pid")
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "-f $1/sshd_config" || return 1
	echo "$pid"
}

write_sshd_config() { # write_sshd_config DIR PORT USER
	cat >"$1/sshd_config" <<EOF
# Written by tests/sshd.sh: a test server that accepts exactly one key, for one user.
ListenAddress 127.0.0.1
Port $2
HostKey $1/host_key
PidFile $1/sshd.pid
LogLevel VERBOSE
AuthorizedKeysFile $1/authorized_keys
AllowUsers $3
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
HostbasedAuthentication no
# PAM would read the system's login policy (and may want a tty or a password); the key is all
# this server needs.
UsePAM no
# The tests (and CI) run as root, and the backend logs in as the user who runs it, so root has to
# be allowed in; prohibit-password keeps it to keys, and the only key accepted is the one
# generated in this directory.
PermitRootLogin prohibit-password
# DIR lives under /tmp, which is world-writable: StrictModes would reject the authorized_keys
# below it. The directory itself is 0700, so nobody else can change the key.
StrictModes no
DisableForwarding yes
PermitUserEnvironment no
PermitTTY no
PrintMotd no
PrintLastLog no
UseDNS no
# Parity and fault tests open many short sessions one after another.
MaxStartups 64
MaxSessions 64
Subsystem sftp internal-sftp
EOF
}

write_ssh_config() { # write_ssh_config DIR PORT USER
	cat >"$1/ssh_config" <<EOF
# Written by tests/sshd.sh: \`ssh -F $1/ssh_config osiris-test CMD\`.
Host osiris-test
    HostName 127.0.0.1
    Port $2
    User $3
    IdentityFile $1/client_key
    IdentitiesOnly yes
    UserKnownHostsFile $1/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    BatchMode yes
    ConnectTimeout 5
    ServerAliveInterval 5
    ServerAliveCountMax 3
    LogLevel ERROR
EOF
}

try_start() { # try_start DIR BIN PORT USER: one attempt on one port
	d=$1
	write_sshd_config "$d" "$3" "$4"
	write_ssh_config "$d" "$3" "$4"
	# The host key, pinned under the name ssh looks up for a non-default port.
	printf '[127.0.0.1]:%s %s\n' "$3" "$(cut -d' ' -f1,2 "$d/host_key.pub")" >"$d/known_hosts"
	rm -f "$d/sshd.pid"
	# -E: the log goes to DIR/sshd.log instead of syslog. -D and a shell that exits at once: sshd
	# belongs to no process group of ours (a Ctrl-C reaches it only through stop) and its pid is
	# known before it listens, so a failed bind ends the wait at once instead of after 10 s.
	pid=$(sh -c '"$0" -D -f "$1/sshd_config" -E "$1/sshd.log" </dev/null >/dev/null 2>&1 &
		echo $!' "$2" "$d")
	# Ready means a real login works: key, host key, config and privilege separation in one go.
	n=100
	while [ "$n" -gt 0 ]; do
		alive "$pid" || return 1
		ssh -F "$d/ssh_config" osiris-test true >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	kill "$pid" 2>/dev/null || true
	return 1
}

start() { # start DIR
	d=$1
	bin=$(sshd_bin) || {
		echo "sshd.sh: sshd not found (install openssh-server)" >&2
		return 1
	}
	if ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then
		echo "sshd.sh: ssh or ssh-keygen not found (install openssh-client)" >&2
		return 1
	fi
	mkdir -p "$d"
	chmod 700 "$d"
	d=$(cd "$d" && pwd -P)
	if our_pid "$d" >/dev/null; then
		echo "sshd.sh: the sshd of $d runs already (tests/sshd.sh stop $d)" >&2
		return 1
	fi
	# sshd's privilege separation chroots into /run/sshd (compiled in), which the Debian package
	# creates only when the service starts; nothing else uses it.
	[ -d /run/sshd ] || mkdir -m 0755 /run/sshd 2>/dev/null || true
	user=$(id -un)
	rm -f "$d/host_key" "$d/host_key.pub" "$d/client_key" "$d/client_key.pub"
	ssh-keygen -q -t ed25519 -N '' -C osiris-test-host -f "$d/host_key" </dev/null
	ssh-keygen -q -t ed25519 -N '' -C osiris-test-client -f "$d/client_key" </dev/null
	cp "$d/client_key.pub" "$d/authorized_keys"
	chmod 600 "$d/authorized_keys"
	# A port can be taken between free_port and sshd's bind; three ports are enough.
	port=""
	for _ in 1 2 3; do
		p=$(free_port)
		if try_start "$d" "$bin" "$p" "$user"; then
			port=$p
			break
		fi
	done
	[ -n "$port" ] || {
		echo "sshd.sh: sshd did not start, see $d/sshd.log" >&2
		return 1
	}
	cat >"$d/env" <<EOF
export OSIRIS_TEST_HAVE_SSH=1
export OSIRIS_TEST_SSH_DIR=$d
export OSIRIS_TEST_SSH_CONFIG=$d/ssh_config
export OSIRIS_TEST_SSH_HOST=osiris-test
export OSIRIS_TEST_SSH_HOSTNAME=127.0.0.1
export OSIRIS_TEST_SSH_PORT=$port
export OSIRIS_TEST_SSH_USER=$user
export OSIRIS_TEST_SSH_KEY=$d/client_key
export OSIRIS_TEST_SSH_KNOWN_HOSTS=$d/known_hosts
export OSIRIS_TEST_SSH_URL=ssh://$user@127.0.0.1:$port
EOF
}

# The processes below PID, children first level by level (pgrep -P walks parent links).
descendants() { # descendants PID
	for c in $(pgrep -P "$1" 2>/dev/null || true); do
		echo "$c"
		descendants "$c"
	done
}

# Stops the listener of DIR and everything below it (the sessions a test left open and the
# commands they run, which would otherwise outlive the server), nothing else.
stop_sshd() { # stop_sshd DIR
	pid=$(our_pid "$1") || return 0
	tree=$(descendants "$pid")
	kill "$pid" 2>/dev/null || true
	for p in $tree; do
		kill "$p" 2>/dev/null || true
	done
	n=50
	while [ "$n" -gt 0 ] && alive "$pid"; do
		sleep 0.1
		n=$((n - 1))
	done
	if alive "$pid"; then
		kill -9 "$pid" 2>/dev/null || true
	fi
	for p in $tree; do
		if alive "$p"; then
			kill -9 "$p" 2>/dev/null || true
		fi
	done
}

stop() { # stop DIR
	[ -d "$1" ] || return 0
	d=$(cd "$1" && pwd -P)
	stop_sshd "$d"
	rm -rf "$d"
}

case ${1:-} in
run)
	shift
	[ $# -gt 0 ] || die "usage: tests/sshd.sh run CMD [ARG...]"
	if [ -n "${OSIRIS_TEST_SSH_DIR:-}" ] && [ -d "$OSIRIS_TEST_SSH_DIR" ]; then
		exec "$@"
	fi
	dir=$(mktemp -d "${TMPDIR:-/tmp}/osiris-sshd.XXXXXX")
	trap 'stop "$dir"' EXIT
	trap 'exit 130' INT TERM
	if start "$dir"; then
		# shellcheck source=/dev/null
		. "$dir/env"
	elif [ "${REQUIRE_SERVERS:-0}" = 1 ]; then
		die "sshd did not start (REQUIRE_SERVERS=1)"
	fi
	rc=0
	"$@" || rc=$?
	exit "$rc"
	;;
start)
	[ $# -eq 2 ] || die "usage: tests/sshd.sh start DIR"
	start "$2" || exit 1 # DIR stays, with sshd.log; `stop DIR` removes it
	echo "sshd.sh: started; . $2/env"
	;;
stop)
	[ $# -eq 2 ] || die "usage: tests/sshd.sh stop DIR"
	stop "$2"
	;;
*)
	die "usage: tests/sshd.sh run CMD... | start DIR | stop DIR"
	;;
esac
