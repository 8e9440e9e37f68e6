# shellcheck shell=sh
# Helpers of the scripts that start throw-away servers (servers.sh, sshd.sh); sourced, POSIX sh.

# A TCP port nobody listens on (the server still fails cleanly if one is taken meanwhile; the
# callers retry or report it).
free_port() {
	while :; do
		p=$(($(od -An -N2 -tu2 /dev/urandom) % 30000 + 20000))
		if ! ss -ltnH "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return
		fi
	done
}

wait_for() { # wait_for SECONDS CMD...: until CMD succeeds
	n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
