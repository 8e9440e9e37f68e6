#!/usr/bin/env node
// A real GraphQL server (graphql-yoga) on a loopback port, for the end-to-end tests of
// graphql.extractor. See tests/http/README.md for the flags, endpoints and behaviours.
//
//   node tests/http/graphql-server.mjs --port-file FILE [--token T] [--user U]
//        [--fail-first N] [--slow-ms MS] [--port P]
//
// Listens on 127.0.0.1 (port 0, i.e. ephemeral, unless --port), writes the port to FILE (temp +
// rename) once listening, logs one JSON line per request on stderr, exits on SIGTERM/SIGINT.
// graphql-yoga and graphql come from third_party/node (scripts/bootstrap.sh --node).

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = path.resolve(here, '../../third_party/node');

function die(msg) {
	process.stderr.write(`graphql-server: ${msg}\n`);
	process.exit(1);
}

// ---- flags -------------------------------------------------------------------------------------

const opts = { portFile: null, port: 0, token: 's3cret-token', user: 'osiris', failFirst: 1, slowMs: 10000, products: 25 };
{
	const a = process.argv.slice(2);
	const num = (flag, v) => {
		if (v === undefined || !/^\d+$/.test(v)) die(`${flag} needs a whole number`);
		return Number(v);
	};
	for (let i = 0; i < a.length; i++) {
		const f = a[i];
		const v = a[i + 1];
		switch (f) {
			case '--port-file': if (v === undefined) die('--port-file needs a file'); opts.portFile = v; i++; break;
			case '--port': opts.port = num(f, v); i++; break;
			case '--token': if (v === undefined) die('--token needs a value'); opts.token = v; i++; break;
			case '--user': if (v === undefined) die('--user needs a value'); opts.user = v; i++; break;
			case '--fail-first': opts.failFirst = num(f, v); i++; break;
			case '--slow-ms': opts.slowMs = num(f, v); i++; break;
			case '--products': opts.products = num(f, v); i++; break;
			case '-h': case '--help':
				process.stdout.write('usage: graphql-server.mjs --port-file FILE [--port P] [--token T] [--user U] [--fail-first N] [--slow-ms MS] [--products N]\n');
				process.exit(0);
			default: die(`unknown argument ${f} (see tests/http/README.md)`);
		}
	}
	if (!opts.portFile) die('--port-file FILE is required');
}

let yogaLib;
try {
	yogaLib = createRequire(path.join(nodeDir, 'package.json'))('graphql-yoga');
} catch (e) {
	die(`cannot load graphql-yoga from ${nodeDir}/node_modules (run scripts/bootstrap.sh --node): ${e.message}`);
}
const { createYoga, createSchema, createGraphQLError } = yogaLib;

// ---- data --------------------------------------------------------------------------------------

// 25 fixed products p01..p25 (--products N makes more, for benchmarks: the same rules, ids p26...). Special cases: p01's name has a comma, p02's a double quote, p03 and
// p04 are non-ASCII; price is null for p07, p14, p21, a whole number for p08 (12) and zero for p11;
// vendor is null for p05, p10, p15, p20, p25 (and Globex has a null country); tags are empty for
// p06, p12, p18, p24.
const vendors = [
	{ name: 'Acme Corp', country: 'US' },
	{ name: 'Globex', country: null },
	{ name: 'Initech GmbH', country: 'DE' },
];
const specialNames = { 1: 'Widget, Large', 2: 'The "Quoted" Gadget', 3: 'Café Ünïcode', 4: 'Ñandú Ärger — ßtraße 日本' };
const tagPool = ['red', 'blue', 'sale', 'new', 'eco'];
const products = [];
for (let i = 1; i <= opts.products; i++) {
	const id = `p${String(i).padStart(2, '0')}`;
	const tags = i % 6 === 0 ? [] : [tagPool[i % 5], tagPool[(i * 2) % 5]].filter((t, k, arr) => arr.indexOf(t) === k);
	products.push({
		id,
		name: specialNames[i] ?? `Product ${String(i).padStart(2, '0')}`,
		price: i % 7 === 0 ? null : i === 8 ? 12 : i === 11 ? 0 : Number((i * 1.5 + 0.99).toFixed(2)),
		inStock: i % 3 !== 0,
		tags,
		vendor: i % 5 === 0 ? null : vendors[i % 3],
		createdAt: `2026-01-${String((i - 1) % 28 + 1).padStart(2, '0')}T10:${String(i % 60).padStart(2, '0')}:00Z`,
	});
}

// Opaque cursors: base64 of the product's index in the list.
const encodeCursor = (idx) => Buffer.from(String(idx), 'utf8').toString('base64');
function decodeCursor(c) {
	const s = Buffer.from(c, 'base64').toString('utf8');
	if (!/^\d+$/.test(s) || Number(s) >= products.length || encodeCursor(Number(s)) !== c)
		throw createGraphQLError(`invalid cursor: ${c}`, { extensions: { code: 'BAD_USER_INPUT' } });
	return Number(s);
}

const schema = createSchema({
	typeDefs: /* GraphQL */ `
		type Query {
			products(first: Int = 10, after: String): ProductConnection!
			productsPage(limit: Int = 10, offset: Int = 0): [Product!]!
			product(id: ID!): Product
			boom: Int
		}
		type ProductConnection { edges: [ProductEdge!]!, pageInfo: PageInfo! }
		type ProductEdge { node: Product!, cursor: String! }
		type PageInfo { hasNextPage: Boolean!, endCursor: String }
		type Product {
			id: ID!
			name: String!
			price: Float
			inStock: Boolean!
			tags: [String!]!
			vendor: Vendor
			createdAt: String!
		}
		type Vendor { name: String!, country: String }
	`,
	resolvers: {
		Query: {
			products(_, { first, after }) {
				if (first < 0) throw createGraphQLError('first must not be negative', { extensions: { code: 'BAD_USER_INPUT' } });
				const start = after == null ? 0 : decodeCursor(after) + 1;
				const slice = products.slice(start, start + first);
				const edges = slice.map((p, k) => ({ node: p, cursor: encodeCursor(start + k) }));
				return {
					edges,
					pageInfo: {
						hasNextPage: start + slice.length < products.length,
						endCursor: edges.length ? edges[edges.length - 1].cursor : null,
					},
				};
			},
			productsPage(_, { limit, offset }) {
				if (limit < 0 || offset < 0)
					throw createGraphQLError('limit and offset must not be negative', { extensions: { code: 'BAD_USER_INPUT' } });
				return products.slice(offset, offset + limit);
			},
			product: (_, { id }) => products.find((p) => p.id === id) ?? null,
			boom() {
				throw new Error('boom: the resolver failed on purpose');
			},
		},
	},
});

// One yoga per endpoint path (same schema); the path-specific behaviours run before it.
const endpoints = ['/graphql', '/secure/graphql', '/apikey/graphql', '/basic/graphql', '/flaky/graphql',
	'/ratelimit/graphql', '/slow/graphql', '/always503/graphql'];
const yogas = new Map(endpoints.map((p) => [p, createYoga({
	schema,
	graphqlEndpoint: p,
	graphiql: false,
	landingPage: false,
	maskedErrors: false, // the resolver's own message reaches the client
	logging: false,
})]));

// ---- state -------------------------------------------------------------------------------------

const statsByTestId = new Map(); // X-Test-Id -> requests seen on any path but /stats
const flakyCount = new Map();
const ratelimitCount = new Map();
const bump = (m, k) => { const n = (m.get(k) ?? 0) + 1; m.set(k, n); return n; };

// ---- HTTP --------------------------------------------------------------------------------------

function send(res, status, body, headers = {}) {
	const isText = typeof body === 'string';
	const buf = Buffer.from(isText ? body : JSON.stringify(body), 'utf8');
	res.writeHead(status, {
		'Content-Type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
		'Content-Length': buf.length,
		...headers,
	});
	res.end(buf);
}

const unauthorized = (res, challenge) =>
	send(res, 401, { errors: [{ message: 'unauthorized' }] }, { 'WWW-Authenticate': challenge });

function authorized(p, h) {
	if (p === '/secure/graphql') return h.authorization === `Bearer ${opts.token}`;
	if (p === '/apikey/graphql') return h['x-api-key'] === opts.token;
	if (p === '/basic/graphql')
		return h.authorization === `Basic ${Buffer.from(`${opts.user}:${opts.token}`, 'utf8').toString('base64')}`;
	return true;
}
const challenges = {
	'/secure/graphql': 'Bearer realm="osiris-test"',
	'/apikey/graphql': 'ApiKey realm="osiris-test"',
	'/basic/graphql': 'Basic realm="osiris-test", charset="UTF-8"',
};

async function handle(req, res, body, url, log) {
	const p = url.pathname;
	const h = req.headers;
	const testId = h['x-test-id'] ?? '';

	if (p === '/stats') {
		if (req.method !== 'GET') return send(res, 405, { error: 'use GET' }, { Allow: 'GET' });
		const id = url.searchParams.get('id') ?? '';
		return send(res, 200, { requests: statsByTestId.get(id) ?? 0 });
	}
	bump(statsByTestId, testId);

	if (!yogas.has(p)) return send(res, 404, { errors: [{ message: `no endpoint ${p}` }] });
	if (!authorized(p, h)) return unauthorized(res, challenges[p]);

	if (p === '/always503/graphql') return send(res, 503, 'Service Unavailable (always)\n');
	if (p === '/flaky/graphql' && bump(flakyCount, testId) <= opts.failFirst)
		return send(res, 503, 'Service Unavailable (flaky: try again)\n', { 'Retry-After': '1' });
	if (p === '/ratelimit/graphql' && bump(ratelimitCount, testId) === 1)
		return send(res, 429, { errors: [{ message: 'rate limited: retry after 2 s' }] }, { 'Retry-After': '2' });
	if (p === '/slow/graphql') {
		const gone = await new Promise((resolve) => {
			const t = setTimeout(() => { res.off('close', onClose); resolve(false); }, opts.slowMs);
			const onClose = () => { clearTimeout(t); resolve(true); };
			res.once('close', onClose);
		});
		if (gone) return;
	}

	const init = { method: req.method, headers: new Headers() };
	for (const [k, v] of Object.entries(h)) init.headers.set(k, Array.isArray(v) ? v.join(', ') : v);
	if (req.method !== 'GET' && req.method !== 'HEAD') init.body = body;
	const r = await yogas.get(p).fetch(`http://127.0.0.1${req.url}`, init);
	const out = Buffer.from(await r.arrayBuffer());
	const headers = {};
	r.headers.forEach((v, k) => { if (k !== 'content-length' && k !== 'transfer-encoding') headers[k] = v; });
	headers['content-length'] = out.length;
	res.writeHead(r.status, headers);
	res.end(out);
}

const server = http.createServer((req, res) => {
	const t0 = Date.now();
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => {
		const body = Buffer.concat(chunks);
		const url = new URL(req.url, 'http://127.0.0.1');
		const log = {
			time: new Date().toISOString(),
			method: req.method,
			path: url.pathname,
			test_id: req.headers['x-test-id'] ?? null,
			authorization: req.headers.authorization !== undefined ? 'yes' : 'no',
			api_key: req.headers['x-api-key'] !== undefined ? 'yes' : 'no',
			variables: null,
		};
		try {
			const j = JSON.parse(body.toString('utf8'));
			if (j && typeof j === 'object' && 'variables' in j) log.variables = j.variables;
			if (j && typeof j.operationName === 'string') log.operation = j.operationName;
		} catch { /* not JSON: nothing to log */ }
		res.on('close', () => {
			log.status = res.headersSent ? res.statusCode : null;
			if (!res.writableFinished) log.client_gone = true;
			log.ms = Date.now() - t0;
			process.stderr.write(JSON.stringify(log) + '\n');
		});
		handle(req, res, body, url, log).catch((e) => {
			process.stderr.write(`graphql-server: ${e.stack ?? e}\n`);
			if (!res.headersSent) send(res, 500, { errors: [{ message: `server error: ${e.message}` }] });
			else res.destroy();
		});
	});
});

server.on('error', (e) => die(`listen: ${e.message}`));
server.listen(opts.port, '127.0.0.1', () => {
	const port = server.address().port;
	const tmp = `${opts.portFile}.tmp.${process.pid}`;
	fs.writeFileSync(tmp, `${port}\n`);
	fs.renameSync(tmp, opts.portFile);
	process.stderr.write(JSON.stringify({ time: new Date().toISOString(), listening: `http://127.0.0.1:${port}`, pid: process.pid }) + '\n');
});

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
	process.on(sig, () => {
		server.close();
		server.closeAllConnections?.();
		process.exit(0);
	});
}
