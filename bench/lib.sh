# Shared by the benchmarks (sourced): pipeline generation and timing.

# gen_chain N FILE CSV: an N-step pipeline: a CSV extractor of CSV, a chain of DuckDB processors
# (each reads the previous step's output; every 10th also needs the extractor: a fan-in), a CSV
# writer.
gen_chain() {
	n=$1
	{
		echo 'oml_version: "0.1.0"'
		echo "name: bench-$n"
		echo 'params: {limit: {default: 100}}'
		echo 'steps:'
		echo "  - {id: s0, component: filesystem.csv_extractor, mode: read, config: {path: $3}}"
		i=1
		while [ $i -lt $((n - 1)) ]; do
			prev=$((i - 1))
			if [ $((i % 10)) -eq 0 ]; then needs="[s$prev, s0]"; else needs="[s$prev]"; fi
			echo "  - {id: s$i, component: duckdb.processor, mode: transform, needs: $needs, config: {query: \"SELECT * FROM df_s$prev LIMIT \${params.limit}\"}}"
			i=$((i + 1))
		done
		echo "  - {id: s$i, component: filesystem.csv_writer, mode: write, needs: [s$((i - 1))], config: {path: out.csv}}"
	} >"$2"
}

# ms COMMAND...: wall-clock milliseconds of one run
ms() {
	t0=$(date +%s%N)
	"$@" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}
