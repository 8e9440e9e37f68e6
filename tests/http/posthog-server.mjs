#!/usr/bin/env node
// A stand-in for PostHog's Query API on a loopback port, for the end-to-end tests of
// posthog.extractor. Plain Node 20, no npm packages. See tests/http/README.md.
//
//   node tests/http/posthog-server.mjs --port-file FILE [--port P] [--api-key KEY]
//        [--project-id ID] [--events-file FILE.jsonl] [--persons-file FILE.jsonl]
//        [--rate-limit-first [N]]
//
// What it implements, and where the shapes come from
// --------------------------------------------------
// Sources: PostHog's "API queries" page, https://posthog.com/docs/api/queries (its source is
// contents/docs/api/queries.mdx and contents/docs/_snippets/optimal-queries.mdx in
// github.com/PostHog/posthog.com), and PostHog's own code for what the page leaves out:
// posthog/schema.py (HogQLQueryResponse), posthog/hogql/query.py (HogQLQueryExecutor.execute),
// posthog/hogql_queries/hogql_query_runner.py (the hasMore paginator), posthog/renderers.py
// (orjson with OPT_UTC_Z), posthog/exceptions.py (the {type, code, detail, attr} error body).
//
// Request (the page: "make a POST request to /api/projects/:project_id/query/ ... a JSON object
// with a query property with a kind and query property"):
//   POST /api/projects/:project_id/query/        (also without the final slash, and
//                                                 /api/environments/:project_id/query/)
//   Authorization: Bearer <personal API key>
//   Content-Type: application/json
//   {"query": {"kind": "HogQLQuery", "query": "SELECT ..."}, "name": "optional label",
//    "refresh": "blocking", "client_query_id": "..."}        (name/refresh/... accepted, ignored)
//
// Response 200 (HogQLQueryResponse plus the cache fields the page lists):
//   {"columns": ["uuid", "event", ...],                names as HogQL prints them (alias if any)
//    "types": [["uuid", "UUID"], ["event", "String"], ["timestamp", "DateTime64(6, 'UTC')"], ...],
//                                                      (name, ClickHouse type) pairs
//    "results": [["0193...", "$pageview", "2026-11-20T10:00:00.123456Z", ...], ...],
//    "hasMore": null | true | false, "limit": null | 100, "offset": null | 0,
//    "query": "<the HogQL text>", "hogql": "<the HogQL text>", "clickhouse": null,
//    "error": null, "explain": null, "metadata": null, "modifiers": {}, "timings": [],
//    "is_cached": false, "cache_key": "...", "last_refresh": "...Z",
//    "next_allowed_client_refresh": "...Z", "cache_target_age": "...Z", "timezone": "UTC",
//    "query_status": null}
//   - hasMore: as in PostHog's HogQLQueryRunner, only a query WITHOUT its own LIMIT gets the
//     paginator: the default limit of 100 rows (the page: "By default, API queries return up to
//     100 rows"), hasMore true/false, limit 100, offset 0. A query WITH a LIMIT gets hasMore, limit
//     and offset null: an extractor that sends LIMIT n pages by "got n rows".
//   - LIMIT above 50000 is cut to 50000 (the page: "up to 50k rows per query").
//   - timestamp values: DateTime64 in UTC, serialized as orjson does with OPT_UTC_Z:
//     "2026-11-20T10:00:00.123456Z", or "2026-11-20T10:00:00Z" when the microseconds are 0.
//   - properties: a JSON *string*, not an object: in HogQL `events.properties` is a String
//     column holding JSON (PostHog's data-pipelines docs: "Object containing all properties of
//     the event (stored as a String)"); properties.$foo gives the value as a string (objects
//     and arrays as JSON text, numbers and booleans as their text), null when absent.
//   - uuid and person_id: strings (UUID).
//
// Errors (PostHog's exception handler body: {"type", "code", "detail", "attr"}):
//   401 {"type":"authentication_error","code":"not_authenticated","detail":"Authentication credentials were not provided.","attr":null}
//   401 {"type":"authentication_error","code":"authentication_failed","detail":"Personal API key found in request Authorization header is invalid.","attr":null}
//   404 {"type":"invalid_request","code":"not_found","detail":"Not found.","attr":null}    (unknown project)
//   429 {"type":"throttled_error","code":"throttled","detail":"Request was throttled. Expected available in 1 second.","attr":null}
//       with Retry-After: 1                                          (only with --rate-limit-first)
//   400 {"type":"validation_error","code":"invalid_input","detail":"<why>","attr":null}
//       (bad JSON body, kind other than HogQLQuery, HogQL this server cannot parse or run)
//   Order of checks as in DRF: authentication, then the project, then throttling, then the body.
//
// The HogQL subset (one SELECT over the tables events and persons):
//   SELECT <items> FROM events|persons [WHERE <cond>] [ORDER BY <expr> [ASC|DESC], ...]
//          [LIMIT n [OFFSET k]]
//   items: * | column | properties.<key> | table.column | literal | count() | <item> AS alias
//   cond:  AND / OR / NOT / parentheses over comparisons (= == != <> < <= > >=), [NOT] IN (...),
//          IS [NOT] NULL, [NOT] LIKE '...'
//   values: 'strings' (\' or '' escapes), numbers, NULL, true, false, now(),
//          toDateTime('YYYY-MM-DD[ HH:MM:SS]'), toDateTime64('YYYY-MM-DD HH:MM:SS.ffffff', 6),
//          parseDateTimeBestEffort('…'), parseDateTime64BestEffort('…'[, 6]) (only these two
//          take a zone, Z or ±HH:MM; all take a space or T between date and time); a string
//          compared with a DateTime is read as one (no zone), like ClickHouse does. toDateTime
//          truncates to seconds, toDateTime64(…, p) and parseDateTime64BestEffort(…, p) to p
//          digits (the latter's default p is 3, as in ClickHouse).
//   SELECT 1 (osiris doctor) answers {"columns":["1"],"types":[["1","UInt8"]],"results":[[1]],...}.
//   Strings compare by UTF-8 bytes, NULLs sort last; UUIDs compare as their text (ClickHouse
//   orders UUIDs differently, but ORDER BY and > agree here as they do there).
//
// Data: events from --events-file (one JSON object a line: {uuid, event, timestamp, distinct_id,
// person_id, properties}; timestamp "2026-11-20 10:00:00.123456" (UTC) or ISO 8601), else a
// built-in set of 40 events (see builtinEvents). persons from --persons-file (lines {id,
// created_at, properties, is_identified}), else one person per distinct person_id of the events.
//
// Also: GET /requests returns every API request so far as a JSON array of {time, method, path,
// status, hogql, name, ms}; each request is also one JSON line on stderr. The port is written
// to the --port-file (temp + rename) once listening; SIGTERM/SIGINT end the server.

import http from 'node:http';
import fs from 'node:fs';
import crypto from 'node:crypto';

function die(msg) {
	process.stderr.write(`posthog-server: ${msg}\n`);
	process.exit(1);
}

class HogQLError extends Error {} // becomes a 400 validation_error

// ---- flags -------------------------------------------------------------------------------------

const opts = { portFile: null, port: 0, apiKey: 'phx_test_personal_api_key', projectId: '123', eventsFile: null, personsFile: null, rateLimitFirst: 0 };
{
	const a = process.argv.slice(2);
	const val = (f, v) => { if (v === undefined) die(`${f} needs a value`); return v; };
	for (let i = 0; i < a.length; i++) {
		const f = a[i];
		const v = a[i + 1];
		switch (f) {
			case '--port-file': opts.portFile = val(f, v); i++; break;
			case '--port': if (!/^\d+$/.test(v ?? '')) die('--port needs a number'); opts.port = Number(v); i++; break;
			case '--api-key': opts.apiKey = val(f, v); i++; break;
			case '--project-id': opts.projectId = val(f, v); i++; break;
			case '--events-file': opts.eventsFile = val(f, v); i++; break;
			case '--persons-file': opts.personsFile = val(f, v); i++; break;
			case '--rate-limit-first':
				if (v !== undefined && /^\d+$/.test(v)) { opts.rateLimitFirst = Number(v); i++; } else opts.rateLimitFirst = 1;
				break;
			case '-h': case '--help':
				process.stdout.write('usage: posthog-server.mjs --port-file FILE [--port P] [--api-key KEY] [--project-id ID] [--events-file F] [--persons-file F] [--rate-limit-first [N]]\n');
				process.exit(0);
			default: die(`unknown argument ${f} (see tests/http/README.md)`);
		}
	}
	if (!opts.portFile) die('--port-file FILE is required');
}

// ---- date-times: microseconds since the epoch, UTC -----------------------------------------------

class DT {
	constructor(us) { this.us = us; }
}

// Reads 'YYYY-MM-DD' and 'YYYY-MM-DD HH:MM:SS[.f…]' (space or T between date and time, as
// ClickHouse's basic parser does) and, only when bestEffort, a 'Z' or ±HH[:MM] zone after it.
// Returns microseconds since the epoch (UTC) or throws.
function parseDateTimeText(s, { bestEffort, fn }) {
	const m = /^(\d{4})-(\d{2})-(\d{2})(?:([ T])(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(s.trim());
	if (!m || (!bestEffort && m[9] !== undefined))
		throw new HogQLError(`${fn}: cannot parse '${s}' as a date-time${bestEffort ? '' : " (expected 'YYYY-MM-DD hh:mm:ss[.ffffff]' without a zone; parseDateTime64BestEffort reads ISO 8601 with Z or an offset)"}`);
	const [, y, mo, d, , hh = '0', mi = '0', ss = '0', frac = '', zone] = m;
	let ms = Date.UTC(+y, +mo - 1, +d, +hh, +mi, +ss);
	if (Number.isNaN(ms) || +mo < 1 || +mo > 12 || +d < 1 || +d > 31 || +hh > 23 || +mi > 59 || +ss > 59)
		throw new HogQLError(`${fn}: '${s}' is not a valid date-time`);
	if (zone && zone !== 'Z') {
		const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
		const off = (+z[2] * 60 + +(z[3] ?? 0)) * 60000;
		ms -= z[1] === '+' ? off : -off;
	}
	return ms * 1000 + Number((frac + '000000').slice(0, 6));
}

function truncateUs(us, precision) {
	const unit = 10 ** (6 - Math.max(0, Math.min(6, precision)));
	return Math.floor(us / unit) * unit;
}

function formatDT(us) { // as orjson with OPT_UTC_Z
	const ms = Math.floor(us / 1000);
	const micro = us - Math.floor(us / 1e6) * 1e6;
	const base = new Date(ms).toISOString().slice(0, 19);
	return micro === 0 ? `${base}Z` : `${base}.${String(micro).padStart(6, '0')}Z`;
}

// ---- data --------------------------------------------------------------------------------------

const uuidFrom = (seed) => {
	const h = crypto.createHash('sha1').update(seed).digest('hex');
	return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

// 40 events from 2026-11-20 10:00 UTC on: every fourth timestamp is shared by two events (so a
// keyset on (timestamp, uuid) has ties to break), most carry microseconds, and the properties
// hold a comma, a quote, non-ASCII text, numbers, a boolean, a nested object and an array.
function builtinEvents() {
	const names = ['$pageview', 'signup', 'purchase', '$autocapture', '$pageview'];
	const out = [];
	let us = parseDateTimeText('2026-11-20 10:00:00', { bestEffort: false, fn: 'builtin' });
	for (let i = 0; i < 40; i++) {
		if (i > 0 && i % 4 !== 1) us += 37 * 60 * 1e6 + (i % 3 === 0 ? 0 : 123456 * ((i % 7) + 1));
		const user = (i % 5) + 1;
		const props = { $current_url: `https://example.test/page/${i}`, $browser: i % 2 ? 'Firefox' : 'Chrome', n: i };
		if (i % 10 === 3) props.note = 'comma, and "quote"';
		if (i % 10 === 7) props.city = 'Zürich — 東京';
		if (names[i % 5] === 'purchase') { props.amount = Number((i * 3.75).toFixed(2)); props.items = ['a', 'b']; props.paid = i % 2 === 0; }
		if (i % 13 === 0) props.nested = { level: 1, tags: ['x'] };
		out.push({
			uuid: uuidFrom(`event-${i}`),
			event: names[i % 5],
			timestamp: formatDT(us).replace('T', ' ').replace('Z', ''),
			distinct_id: `user-${user}`,
			person_id: uuidFrom(`person-${user}`),
			properties: props,
		});
	}
	return out;
}

function readJsonl(file) {
	let text;
	try { text = fs.readFileSync(file, 'utf8'); } catch (e) { die(`cannot read ${file}: ${e.message}`); }
	return text.split('\n').map((l, i) => [l.trim(), i + 1]).filter(([l]) => l).map(([l, n]) => {
		try { return JSON.parse(l); } catch (e) { die(`${file}:${n}: not JSON: ${e.message}`); }
	});
}

const events = (opts.eventsFile ? readJsonl(opts.eventsFile) : builtinEvents()).map((e, i) => {
	const where = opts.eventsFile ? `${opts.eventsFile}:${i + 1}` : `builtin event ${i}`;
	let ts;
	try { ts = parseDateTimeText(String(e.timestamp), { bestEffort: true, fn: 'timestamp' }); } catch (err) { die(`${where}: ${err.message}`); }
	return {
		uuid: String(e.uuid ?? uuidFrom(`${where}`)),
		event: String(e.event ?? ''),
		properties: e.properties && typeof e.properties === 'object' ? e.properties : {},
		timestamp: new DT(ts),
		distinct_id: String(e.distinct_id ?? ''),
		person_id: e.person_id == null ? null : String(e.person_id),
		created_at: new DT(e.created_at ? parseDateTimeText(String(e.created_at), { bestEffort: true, fn: 'created_at' }) : ts),
	};
});

const persons = opts.personsFile
	? readJsonl(opts.personsFile).map((p) => ({
		id: String(p.id),
		created_at: new DT(parseDateTimeText(String(p.created_at ?? '2026-01-01 00:00:00'), { bestEffort: true, fn: 'created_at' })),
		properties: p.properties && typeof p.properties === 'object' ? p.properties : {},
		is_identified: Boolean(p.is_identified),
	}))
	: (() => {
		const first = new Map();
		for (const e of events) {
			if (e.person_id == null) continue;
			const f = first.get(e.person_id);
			if (!f || e.timestamp.us < f.t) first.set(e.person_id, { t: e.timestamp.us, distinct_id: e.distinct_id });
		}
		return [...first.entries()].map(([id, f], n) => ({
			id,
			created_at: new DT(truncateUs(f.t, 3)),
			properties: { email: `${f.distinct_id}@example.test`, name: n % 2 ? `Person ${n + 1}` : `Pérson ${n + 1}, Jr.`, plan: n % 3 ? 'free' : 'pro' },
			is_identified: n % 2 === 0,
		}));
	})();

const tables = {
	events: {
		rows: events,
		columns: { uuid: 'UUID', event: 'String', properties: 'String', timestamp: "DateTime64(6, 'UTC')", distinct_id: 'String', person_id: 'UUID', created_at: "DateTime64(6, 'UTC')" },
		star: ['uuid', 'event', 'properties', 'timestamp', 'distinct_id', 'person_id', 'created_at'],
	},
	persons: {
		rows: persons,
		columns: { id: 'UUID', created_at: "DateTime64(3, 'UTC')", properties: 'String', is_identified: 'Bool' },
		star: ['id', 'created_at', 'properties', 'is_identified'],
	},
};

// ---- HogQL: tokens ------------------------------------------------------------------------------

const KEYWORDS = new Set(['SELECT', 'FROM', 'WHERE', 'ORDER', 'BY', 'ASC', 'DESC', 'LIMIT', 'OFFSET', 'AND', 'OR', 'NOT', 'IN', 'AS', 'IS', 'NULL', 'TRUE', 'FALSE', 'LIKE', 'GROUP', 'HAVING', 'JOIN', 'UNION', 'WITH', 'DISTINCT', 'NULLS', 'FIRST', 'LAST']);

function tokenize(src) {
	const toks = [];
	let i = 0;
	while (i < src.length) {
		const c = src[i];
		if (/\s/.test(c)) { i++; continue; }
		if (src.startsWith('--', i)) { while (i < src.length && src[i] !== '\n') i++; continue; }
		if (src.startsWith('/*', i)) { const j = src.indexOf('*/', i + 2); if (j < 0) throw new HogQLError('unterminated comment'); i = j + 2; continue; }
		if (c === "'") {
			let s = '';
			i++;
			for (;;) {
				if (i >= src.length) throw new HogQLError('unterminated string literal');
				const d = src[i];
				if (d === '\\') {
					const e = src[i + 1];
					s += { n: '\n', t: '\t', r: '\r', 0: '\0' }[e] ?? e;
					i += 2;
				} else if (d === "'") {
					if (src[i + 1] === "'") { s += "'"; i += 2; } else { i++; break; }
				} else { s += d; i++; }
			}
			toks.push({ t: 'str', v: s });
			continue;
		}
		if (c === '`' || c === '"') {
			const j = src.indexOf(c, i + 1);
			if (j < 0) throw new HogQLError('unterminated quoted identifier');
			toks.push({ t: 'id', v: src.slice(i + 1, j) });
			i = j + 1;
			continue;
		}
		let m;
		if ((m = /^\d+(\.\d+)?([eE][+-]?\d+)?/.exec(src.slice(i)))) { toks.push({ t: 'num', v: Number(m[0]) }); i += m[0].length; continue; }
		if ((m = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(src.slice(i)))) {
			const up = m[0].toUpperCase();
			toks.push(KEYWORDS.has(up) ? { t: 'kw', v: up } : { t: 'id', v: m[0] });
			i += m[0].length;
			continue;
		}
		if ((m = /^(<=|>=|!=|<>|==|[=<>(),.*;\[\]-])/.exec(src.slice(i)))) { toks.push({ t: 'op', v: m[0] }); i += m[0].length; continue; }
		throw new HogQLError(`unexpected character '${c}' at offset ${i}`);
	}
	toks.push({ t: 'eof' });
	return toks;
}

// ---- HogQL: parser ------------------------------------------------------------------------------

function parse(src) {
	const toks = tokenize(src);
	let p = 0;
	const peek = () => toks[p];
	const isKw = (k) => toks[p].t === 'kw' && toks[p].v === k;
	const isOp = (o) => toks[p].t === 'op' && toks[p].v === o;
	const desc = (t) => (t.t === 'eof' ? 'end of query' : t.t === 'str' ? `'${t.v}'` : `'${t.v}'`);
	const fail = (what) => { throw new HogQLError(`syntax error: expected ${what}, got ${desc(peek())}`); };
	const kw = (k) => { if (!isKw(k)) fail(k); p++; };
	const op = (o) => { if (!isOp(o)) fail(`'${o}'`); p++; };

	function expr() { return orExpr(); }
	function orExpr() {
		let l = andExpr();
		while (isKw('OR')) { p++; l = { k: 'or', l, r: andExpr() }; }
		return l;
	}
	function andExpr() {
		let l = notExpr();
		while (isKw('AND')) { p++; l = { k: 'and', l, r: notExpr() }; }
		return l;
	}
	function notExpr() {
		if (isKw('NOT')) { p++; return { k: 'not', e: notExpr() }; }
		return cmpExpr();
	}
	function cmpExpr() {
		const l = primary();
		const t = peek();
		if (t.t === 'op' && ['=', '==', '!=', '<>', '<', '<=', '>', '>='].includes(t.v)) {
			p++;
			return { k: 'cmp', op: t.v === '==' ? '=' : t.v === '<>' ? '!=' : t.v, l, r: primary() };
		}
		let negate = false;
		if (isKw('NOT') && toks[p + 1].t === 'kw' && (toks[p + 1].v === 'IN' || toks[p + 1].v === 'LIKE')) { p++; negate = true; }
		if (isKw('IN')) {
			p++;
			op('(');
			const list = [primary()];
			while (isOp(',')) { p++; list.push(primary()); }
			op(')');
			return { k: 'in', e: l, list, negate };
		}
		if (isKw('LIKE')) {
			p++;
			const pat = primary();
			return { k: 'like', e: l, pat, negate };
		}
		if (isKw('IS')) {
			p++;
			let neg = false;
			if (isKw('NOT')) { p++; neg = true; }
			kw('NULL');
			return { k: 'isnull', e: l, negate: neg };
		}
		return l;
	}
	function primary() {
		const t = peek();
		if (t.t === 'num') { p++; return { k: 'lit', v: t.v, text: String(t.v) }; }
		if (isOp('-') && toks[p + 1].t === 'num') { p += 2; return { k: 'lit', v: -toks[p - 1].v, text: `-${toks[p - 1].v}` }; }
		if (t.t === 'str') { p++; return { k: 'lit', v: t.v, text: `'${t.v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` }; }
		if (isKw('NULL')) { p++; return { k: 'lit', v: null, text: 'NULL' }; }
		if (isKw('TRUE')) { p++; return { k: 'lit', v: true, text: 'true' }; }
		if (isKw('FALSE')) { p++; return { k: 'lit', v: false, text: 'false' }; }
		if (isOp('(')) { p++; const e = expr(); op(')'); return e; }
		if (t.t === 'id') {
			p++;
			if (isOp('(')) {
				p++;
				const args = [];
				if (isOp('*')) { p++; args.push({ k: 'star' }); } else if (!isOp(')')) {
					args.push(expr());
					while (isOp(',')) { p++; args.push(expr()); }
				}
				op(')');
				return { k: 'call', name: t.v, args };
			}
			const chain = [t.v];
			while (isOp('.')) {
				p++;
				const n = peek();
				if (n.t !== 'id' && n.t !== 'kw' && n.t !== 'num') fail('a name after "."');
				p++;
				chain.push(String(n.v));
			}
			return { k: 'col', chain };
		}
		fail('a value, column or function');
	}

	kw('SELECT');
	if (isKw('DISTINCT')) throw new HogQLError('SELECT DISTINCT is not supported by this test server');
	const items = [];
	do {
		if (items.length) p++;
		if (isOp('*')) { p++; items.push({ star: true }); continue; }
		const e = expr();
		let alias = null;
		if (isKw('AS')) { p++; if (peek().t !== 'id') fail('an alias'); alias = peek().v; p++; } else if (peek().t === 'id') { alias = peek().v; p++; }
		items.push({ e, alias });
	} while (isOp(','));
	let from = null;
	let where = null;
	const order = [];
	let limit = null;
	let offset = null;
	if (isKw('FROM')) {
		p++;
		if (peek().t !== 'id') fail('a table name');
		from = peek().v;
		p++;
		if (isKw('AS') || peek().t === 'id') throw new HogQLError('table aliases are not supported by this test server');
		if (isKw('JOIN')) throw new HogQLError('JOIN is not supported by this test server');
	}
	if (isKw('WHERE')) { p++; where = expr(); }
	if (isKw('GROUP') || isKw('HAVING')) throw new HogQLError('GROUP BY / HAVING are not supported by this test server');
	if (isKw('ORDER')) {
		p++;
		kw('BY');
		do {
			if (order.length) p++;
			const e = expr();
			let dir = 'ASC';
			if (isKw('ASC') || isKw('DESC')) { dir = peek().v; p++; }
			if (isKw('NULLS')) throw new HogQLError('NULLS FIRST/LAST is not supported by this test server');
			order.push({ e, dir });
		} while (isOp(','));
	}
	if (isKw('LIMIT')) {
		p++;
		if (peek().t !== 'num' || !Number.isInteger(peek().v)) fail('a whole number after LIMIT');
		limit = peek().v;
		p++;
		if (isOp(',')) throw new HogQLError('LIMIT k, n is not supported by this test server: use LIMIT n OFFSET k');
		if (isKw('OFFSET')) {
			p++;
			if (peek().t !== 'num' || !Number.isInteger(peek().v)) fail('a whole number after OFFSET');
			offset = peek().v;
			p++;
		}
	}
	if (isOp(';')) p++;
	if (peek().t !== 'eof') fail('end of query');
	return { items, from, where, order, limit, offset };
}

// ---- HogQL: evaluation --------------------------------------------------------------------------

const isAggregate = (e) => e.k === 'call' && e.name.toLowerCase() === 'count';

function columnValue(table, row, chain) {
	let c = chain;
	if (c.length > 1 && c[0] === table.name) c = c.slice(1);
	if (c.length === 1) {
		if (!(c[0] in table.columns)) throw new HogQLError(`unknown field '${c[0]}' on table ${table.name} (known: ${Object.keys(table.columns).join(', ')})`);
		const v = row[c[0]];
		return c[0] === 'properties' ? JSON.stringify(v) : v;
	}
	if (c[0] === 'properties' && c.length === 2) {
		const v = row.properties[c[1]];
		if (v === undefined || v === null) return null;
		return typeof v === 'string' ? v : JSON.stringify(v);
	}
	throw new HogQLError(`unsupported field '${chain.join('.')}' (this test server knows columns and properties.<key>)`);
}

function columnType(table, chain) {
	let c = chain;
	if (c.length > 1 && c[0] === table.name) c = c.slice(1);
	if (c.length === 1) return table.columns[c[0]] ?? 'String';
	return 'Nullable(String)';
}

function callFn(name, args) {
	const fn = name;
	const lower = name.toLowerCase();
	const str = (v, what) => {
		if (typeof v !== 'string') throw new HogQLError(`${fn}: ${what} must be a string literal`);
		return v;
	};
	switch (lower) {
		case 'now':
			if (args.length) throw new HogQLError('now() takes no arguments');
			return new DT(Date.now() * 1000);
		case 'todatetime': {
			if (args.length < 1 || args.length > 2) throw new HogQLError('toDateTime(text[, timezone]) takes one or two arguments');
			if (args[0] instanceof DT) return new DT(truncateUs(args[0].us, 0));
			return new DT(truncateUs(parseDateTimeText(str(args[0], 'the first argument'), { bestEffort: false, fn }), 0));
		}
		case 'todatetime64': {
			if (args.length < 2 || args.length > 3 || typeof args[1] !== 'number') throw new HogQLError('toDateTime64(text, precision[, timezone]) takes a precision');
			if (args[0] instanceof DT) return new DT(truncateUs(args[0].us, args[1]));
			return new DT(truncateUs(parseDateTimeText(str(args[0], 'the first argument'), { bestEffort: false, fn }), args[1]));
		}
		case 'parsedatetimebesteffort':
			if (args.length < 1 || args.length > 2) throw new HogQLError(`${fn}(text[, timezone]) takes one or two arguments`);
			return new DT(truncateUs(parseDateTimeText(str(args[0], 'the first argument'), { bestEffort: true, fn }), 0));
		case 'parsedatetime64besteffort': {
			if (args.length < 1 || args.length > 3) throw new HogQLError(`${fn}(text[, precision[, timezone]]) takes one to three arguments`);
			const prec = args.length >= 2 ? args[1] : 3;
			if (typeof prec !== 'number') throw new HogQLError(`${fn}: the precision must be a number`);
			return new DT(truncateUs(parseDateTimeText(str(args[0], 'the first argument'), { bestEffort: true, fn }), prec));
		}
		case 'tostring':
			if (args.length !== 1) throw new HogQLError('toString(x) takes one argument');
			return args[0] instanceof DT ? formatDT(args[0].us).replace('T', ' ').replace('Z', '') : args[0] == null ? null : String(args[0]);
		default:
			throw new HogQLError(`unknown or unsupported function '${fn}' in this test server`);
	}
}

function evaluate(e, table, row) {
	switch (e.k) {
		case 'lit': return e.v;
		case 'col':
			if (!table) throw new HogQLError(`field '${e.chain.join('.')}' needs a FROM`);
			return columnValue(table, row, e.chain);
		case 'call':
			if (isAggregate(e)) throw new HogQLError('count() can only stand alone in the SELECT list');
			return callFn(e.name, e.args.map((a) => evaluate(a, table, row)));
		case 'and': { const l = evaluate(e.l, table, row); return truthy(l) ? truthy(evaluate(e.r, table, row)) : false; }
		case 'or': { const l = evaluate(e.l, table, row); return truthy(l) ? true : truthy(evaluate(e.r, table, row)); }
		case 'not': return !truthy(evaluate(e.e, table, row));
		case 'cmp': return compareOp(e.op, evaluate(e.l, table, row), evaluate(e.r, table, row));
		case 'in': {
			const v = evaluate(e.e, table, row);
			if (v === null) return false;
			const hit = e.list.some((x) => compareOp('=', v, evaluate(x, table, row)));
			return e.negate ? !hit : hit;
		}
		case 'like': {
			const v = evaluate(e.e, table, row);
			const pat = evaluate(e.pat, table, row);
			if (v === null || pat === null) return false;
			const re = new RegExp(`^${String(pat).replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.')}$`, 's');
			const hit = re.test(String(v));
			return e.negate ? !hit : hit;
		}
		case 'isnull': { const v = evaluate(e.e, table, row); return e.negate ? v !== null : v === null; }
		default: throw new HogQLError(`cannot evaluate ${e.k}`);
	}
}

const truthy = (v) => v !== null && v !== false && v !== 0 && v !== '';

// Brings a and b to one kind: a string against a DateTime is read as a DateTime, like ClickHouse.
function coerce(a, b) {
	if (a instanceof DT && typeof b === 'string') return [a.us, parseDateTimeText(b, { bestEffort: false, fn: 'comparison' })];
	if (b instanceof DT && typeof a === 'string') return [parseDateTimeText(a, { bestEffort: false, fn: 'comparison' }), b.us];
	if (a instanceof DT && b instanceof DT) return [a.us, b.us];
	if (a instanceof DT || b instanceof DT) throw new HogQLError('cannot compare a DateTime with a number or boolean');
	if (typeof a === 'boolean') a = a ? 1 : 0;
	if (typeof b === 'boolean') b = b ? 1 : 0;
	if (typeof a !== typeof b) throw new HogQLError(`cannot compare ${typeof a} '${a}' with ${typeof b} '${b}'`);
	return [a, b];
}

function cmpValues(a, b) { // -1, 0, 1; strings by UTF-8 bytes
	[a, b] = coerce(a, b);
	if (typeof a === 'string') return Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
	return a < b ? -1 : a > b ? 1 : 0;
}

function compareOp(op, a, b) {
	if (a === null || b === null) return false;
	const c = cmpValues(a, b);
	switch (op) {
		case '=': return c === 0;
		case '!=': return c !== 0;
		case '<': return c < 0;
		case '<=': return c <= 0;
		case '>': return c > 0;
		case '>=': return c >= 0;
	}
	return false;
}

function exprText(e) {
	switch (e.k) {
		case 'lit': return e.text;
		case 'col': return e.chain.join('.');
		case 'call': return `${e.name}(${e.args.map((a) => (a.k === 'star' ? '*' : exprText(a))).join(', ')})`;
		default: return '?';
	}
}

function exprType(e, table) {
	if (e.k === 'lit') {
		if (e.v === null) return 'Nullable(Nothing)';
		if (typeof e.v === 'string') return 'String';
		if (typeof e.v === 'boolean') return 'Bool';
		if (!Number.isInteger(e.v)) return 'Float64';
		return e.v < 0 ? 'Int64' : e.v < 256 ? 'UInt8' : e.v < 65536 ? 'UInt16' : e.v < 2 ** 32 ? 'UInt32' : 'UInt64';
	}
	if (e.k === 'col') return columnType(table, e.chain);
	if (e.k === 'call') {
		const n = e.name.toLowerCase();
		if (n === 'count') return 'UInt64';
		if (n === 'todatetime' || n === 'parsedatetimebesteffort' || n === 'now') return "DateTime('UTC')";
		if (n === 'todatetime64' || n === 'parsedatetime64besteffort') return "DateTime64(6, 'UTC')";
		return 'String';
	}
	return 'UInt8';
}

const outValue = (v) => (v instanceof DT ? formatDT(v.us) : v);

const DEFAULT_LIMIT = 100; // PostHog: "By default, API queries return up to 100 rows"
const MAX_LIMIT = 50000; //   "up to 50k rows per query"

function runQuery(src) {
	const q = parse(src);
	let table = null;
	if (q.from !== null) {
		if (!(q.from in tables)) throw new HogQLError(`unknown table '${q.from}' (this test server has events and persons)`);
		table = { name: q.from, ...tables[q.from] };
	}
	// Select list: expand *, name the columns as HogQL prints them.
	const items = [];
	for (const it of q.items) {
		if (it.star) {
			if (!table) throw new HogQLError('SELECT * needs a FROM');
			for (const c of table.star) items.push({ e: { k: 'col', chain: [c] }, name: c });
		} else {
			items.push({ e: it.e, name: it.alias ?? exprText(it.e) });
		}
	}
	for (const it of items) if (it.e.k === 'call' && !isAggregate(it.e)) it.e.args.forEach((a) => { if (a.k === 'star') throw new HogQLError(`${it.e.name}(*) is not supported`); });
	const aggregate = items.some((it) => isAggregate(it.e));
	if (aggregate && !items.every((it) => isAggregate(it.e) || it.e.k === 'lit'))
		throw new HogQLError('count() cannot be mixed with columns here (no GROUP BY in this test server)');

	let rows = table ? table.rows : [{}];
	if (q.where) rows = rows.filter((r) => truthy(evaluate(q.where, table, r)));

	let results;
	if (aggregate) {
		results = [items.map((it) => (isAggregate(it.e) ? rows.length : it.e.v))];
	} else {
		if (q.order.length) {
			const keyed = rows.map((r, i) => ({ r, i, keys: q.order.map((o) => evaluate(o.e, table, r)) }));
			keyed.sort((x, y) => {
				for (let k = 0; k < q.order.length; k++) {
					const a = x.keys[k];
					const b = y.keys[k];
					let c;
					if (a === null || b === null) c = a === b ? 0 : a === null ? 1 : -1; // NULLs last
					else c = cmpValues(a, b) * (q.order[k].dir === 'DESC' ? -1 : 1);
					if (c) return c;
				}
				return x.i - y.i;
			});
			rows = keyed.map((k) => k.r);
		}
		results = rows.map((r) => items.map((it) => outValue(evaluate(it.e, table, r))));
	}

	const offset = q.offset ?? 0;
	let page;
	if (q.limit === null) { // PostHog's HogQLHasMorePaginator: no LIMIT in the query
		const slice = results.slice(offset, offset + DEFAULT_LIMIT + 1);
		page = { results: slice.slice(0, DEFAULT_LIMIT), hasMore: slice.length > DEFAULT_LIMIT, limit: DEFAULT_LIMIT, offset };
	} else {
		page = { results: results.slice(offset, offset + Math.min(q.limit, MAX_LIMIT)), hasMore: null, limit: null, offset: null };
	}
	return { columns: items.map((it) => it.name), types: items.map((it) => [it.name, exprType(it.e, table)]), ...page };
}

// ---- HTTP --------------------------------------------------------------------------------------

const requestLog = [];
let throttledSoFar = 0;

function send(res, status, body, headers = {}) {
	const buf = Buffer.from(JSON.stringify(body), 'utf8');
	res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': buf.length, ...headers });
	res.end(buf);
}
const apiError = (res, status, type, code, detail, headers) => send(res, status, { type, code, detail, attr: null }, headers);

function handle(req, res, body, url, log) {
	if (url.pathname === '/requests') {
		if (req.method !== 'GET') return apiError(res, 405, 'invalid_request', 'method_not_allowed', `Method "${req.method}" not allowed.`);
		log.internal = true;
		return send(res, 200, requestLog);
	}
	const m = /^\/api\/(?:projects|environments)\/([^/]+)\/query\/?$/.exec(url.pathname);
	if (!m) return apiError(res, 404, 'invalid_request', 'not_found', 'Not found.');

	const auth = req.headers.authorization;
	if (auth === undefined) return apiError(res, 401, 'authentication_error', 'not_authenticated', 'Authentication credentials were not provided.');
	if (auth !== `Bearer ${opts.apiKey}`)
		return apiError(res, 401, 'authentication_error', 'authentication_failed', 'Personal API key found in request Authorization header is invalid.');
	if (decodeURIComponent(m[1]) !== opts.projectId) return apiError(res, 404, 'invalid_request', 'not_found', 'Not found.');
	if (req.method !== 'POST') return apiError(res, 405, 'invalid_request', 'method_not_allowed', `Method "${req.method}" not allowed.`, { Allow: 'POST' });
	if (throttledSoFar < opts.rateLimitFirst) {
		throttledSoFar++;
		return apiError(res, 429, 'throttled_error', 'throttled', 'Request was throttled. Expected available in 1 second.', { 'Retry-After': '1' });
	}

	let j;
	try { j = JSON.parse(body.toString('utf8')); } catch (e) { return apiError(res, 400, 'validation_error', 'parse_error', `JSON parse error - ${e.message}`); }
	if (!j || typeof j !== 'object' || !j.query || typeof j.query !== 'object')
		return apiError(res, 400, 'validation_error', 'invalid_input', 'The body needs a "query" object: {"query": {"kind": "HogQLQuery", "query": "SELECT ..."}}');
	if (j.query.kind !== 'HogQLQuery')
		return apiError(res, 400, 'validation_error', 'invalid_input', `Unsupported query kind ${JSON.stringify(j.query.kind)}: this test server implements HogQLQuery only`);
	if (typeof j.query.query !== 'string') return apiError(res, 400, 'validation_error', 'invalid_input', 'query.query must be a string');

	let out;
	try {
		out = runQuery(j.query.query);
	} catch (e) {
		if (e instanceof HogQLError) return apiError(res, 400, 'validation_error', 'invalid_input', e.message);
		throw e;
	}
	const now = new Date();
	send(res, 200, {
		cache_key: `cache_${crypto.createHash('sha1').update(j.query.query).digest('hex').slice(0, 32)}`,
		cache_target_age: new Date(now.getTime() + 6 * 3600e3).toISOString().replace('.000Z', 'Z'),
		clickhouse: null,
		columns: out.columns,
		error: null,
		explain: null,
		hasMore: out.hasMore,
		hogql: j.query.query,
		is_cached: false,
		last_refresh: now.toISOString().replace('.000Z', 'Z'),
		limit: out.limit,
		metadata: null,
		modifiers: {},
		next_allowed_client_refresh: new Date(now.getTime() + 60e3).toISOString().replace('.000Z', 'Z'),
		offset: out.offset,
		query: j.query.query,
		query_status: null,
		results: out.results,
		timezone: 'UTC',
		timings: [],
		types: out.types,
	});
}

const server = http.createServer((req, res) => {
	const t0 = Date.now();
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => {
		const body = Buffer.concat(chunks);
		const url = new URL(req.url, 'http://127.0.0.1');
		const log = { time: new Date().toISOString(), method: req.method, path: url.pathname, status: null, hogql: null, name: null };
		try {
			const j = JSON.parse(body.toString('utf8'));
			if (j && typeof j.query?.query === 'string') log.hogql = j.query.query;
			if (j && typeof j.name === 'string') log.name = j.name;
		} catch { /* no JSON body */ }
		res.on('close', () => {
			log.status = res.headersSent ? res.statusCode : null;
			log.ms = Date.now() - t0;
			const internal = log.internal;
			delete log.internal;
			if (!internal) requestLog.push(log);
			process.stderr.write(JSON.stringify(log) + '\n');
		});
		try {
			handle(req, res, body, url, log);
		} catch (e) {
			process.stderr.write(`posthog-server: ${e.stack ?? e}\n`);
			if (!res.headersSent) apiError(res, 500, 'server_error', 'error', `test server error: ${e.message}`);
		}
	});
});

server.on('error', (e) => die(`listen: ${e.message}`));
server.listen(opts.port, '127.0.0.1', () => {
	const port = server.address().port;
	const tmp = `${opts.portFile}.tmp.${process.pid}`;
	fs.writeFileSync(tmp, `${port}\n`);
	fs.renameSync(tmp, opts.portFile);
	process.stderr.write(JSON.stringify({ time: new Date().toISOString(), listening: `http://127.0.0.1:${port}`, pid: process.pid, events: events.length, persons: persons.length, project_id: opts.projectId }) + '\n');
});

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
	process.on(sig, () => {
		server.close();
		server.closeAllConnections?.();
		process.exit(0);
	});
}
