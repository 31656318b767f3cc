// peer.mjs: an independent ActivityPub server built on Fedify, used by
// crieur's test suite as "somebody else's server".
//
// Fedify is strict (HTTP signature verification, key ownership, id/origin
// checks) and is written by people other than us, so an activity that reaches
// one of this peer's inbox listeners has been accepted by an implementation we
// do not control.  That is the whole point: it catches the mistakes our own
// Go tests would share with our own Go code.
//
// Everything it learns is kept in memory; it is a test fixture, not a server
// to expose.  It listens on 127.0.0.1 only and allows private addresses on
// purpose (crieur under test lives on loopback too).
//
// Environment:
//   PEER_PORT         port to listen on (0 or unset: any free port)
//   PEER_FIRST_KNOCK  "rfc9421" (Fedify's default) or
//                     "draft-cavage-http-signatures-12": the HTTP signature
//                     spec tried first when sending (also settable at run
//                     time through POST /_control/config)
//   PEER_LOG_LEVEL    Fedify log level on stderr: debug, info, warning
//                     (default), error
//   PEER_EXIT_ON_STDIN_EOF  "1": exit when stdin closes, so a peer whose
//                     parent process died does not linger
//
// Stdout carries exactly one JSON line, {"ready":true,"url":ORIGIN}, once the
// server listens; everything else goes to stderr.
//
// Control API (plain JSON, under /_control/, never routed to Fedify):
//   GET  /_control/health
//   GET  /_control/received[?type=Create]  verified inbound activities
//   GET  /_control/rejected                inbound activities Fedify refused
//                                          (signature could not be verified)
//   GET  /_control/sent                    outbound HTTP requests and answers
//   POST /_control/reset                   forget received/rejected/sent
//   POST /_control/follow   {"actor": URL}
//   POST /_control/unfollow {"actor": URL}
//   POST /_control/lookup   {"url": URL, "signed": bool}
//   POST /_control/note     {"actor": URL, "content": HTML, "inReplyTo": URL,
//                            "direct": bool}: a Note mentioning actor (a
//                            reply when inReplyTo is set), public unless
//                            direct, delivered to actor in a Create
//   POST /_control/config   {"firstKnock": SPEC}

import http from "node:http";
import process from "node:process";
import { randomUUID } from "node:crypto";
import { AsyncLocalStorage } from "node:async_hooks";

import {
  createFederation,
  generateCryptoKeyPair,
  MemoryKvStore,
} from "@fedify/fedify";
import {
  Accept,
  Activity,
  Announce,
  Collection,
  Create,
  Delete,
  Endpoints,
  Event,
  Follow,
  isActor,
  Mention,
  Note,
  PUBLIC_COLLECTION,
  Person,
  Reject,
  Undo,
  Update,
} from "@fedify/fedify/vocab";
import { configure, getLogger } from "@logtape/logtape";

const ACTOR = "peer";
const SPECS = ["rfc9421", "draft-cavage-http-signatures-12"];
// Control bodies are tiny; anything larger is a mistake in a test.
const MAX_CONTROL_BODY = 1 << 20;
// Inbound ActivityPub bodies: the same 1 MiB cap the fediverse uses.
const MAX_INBOX_BODY = 1 << 20;
// Collections can be endless (or hostile); a summary needs only a few items.
const MAX_COLLECTION_ITEMS = 50;

const logLevel = process.env.PEER_LOG_LEVEL || "warning";
await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: {
    // stdout is reserved for the ready line the Go harness waits for.
    stderr: (record) => {
      const msg = record.message
        .map((part) => (typeof part === "string" ? part : safeString(part)))
        .join("");
      process.stderr.write(
        `${new Date(record.timestamp).toISOString()} ${record.level} ` +
          `${record.category.join("·")}: ${msg}\n`,
      );
    },
  },
  loggers: [
    { category: "fedify", sinks: ["stderr"], lowestLevel: logLevel },
    { category: "peer", sinks: ["stderr"], lowestLevel: logLevel },
    { category: ["logtape", "meta"], sinks: ["stderr"], lowestLevel: "warning" },
  ],
});
const log = getLogger(["peer"]);

function safeString(value) {
  if (value instanceof Error) return value.stack ?? String(value);
  try {
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  } catch {
    return String(value);
  }
}

/** State that outlives a federation rebuild (see POST /_control/config). */
const state = {
  origin: "",
  keyPair: null,
  received: [],
  rejected: [],
  sent: [],
  lastFollow: new Map(), // actor id -> Follow activity
  followers: new Map(), // actor id -> Follow activity id
  firstKnock: parseSpec(process.env.PEER_FIRST_KNOCK || "rfc9421"),
  federation: null,
};

function parseSpec(spec) {
  if (!SPECS.includes(spec)) {
    throw new Error(`unknown HTTP signature spec ${JSON.stringify(spec)}; want one of ${SPECS.join(", ")}`);
  }
  return spec;
}

// Record every outbound HTTP request Fedify makes (deliveries, lookups, key
// fetches) with the signature spec it used and the answer: that is how a
// test sees Fedify's double-knock against crieur.  Fedify calls the global
// fetch at call time, so wrapping it here catches all of them.
const realFetch = globalThis.fetch;
globalThis.fetch = async function recordingFetch(input, init) {
  // Read what we need without constructing a Request: that would consume a
  // body Fedify still has to send.
  const req = input instanceof Request ? input : null;
  const headers = new Headers(init?.headers ?? req?.headers);
  const entry = {
    method: init?.method ?? req?.method ?? "GET",
    url: req?.url ?? String(input),
    spec: headers.has("signature-input")
      ? "rfc9421"
      : headers.has("signature")
        ? "draft-cavage-http-signatures-12"
        : "none",
    headers: Object.fromEntries(headers),
    status: 0,
    error: null,
    at: new Date().toISOString(),
  };
  state.sent.push(entry);
  try {
    const res = await realFetch(input, init);
    entry.status = res.status;
    return res;
  } catch (err) {
    entry.error = String(err?.message ?? err);
    throw err;
  }
};

function buildFederation() {
  // A fresh store on every build: Fedify remembers per origin which
  // signature spec worked, and that memory would override a new firstKnock.
  const federation = createFederation({
    kv: new MemoryKvStore(),
    origin: state.origin,
    allowPrivateAddress: true,
    firstKnock: state.firstKnock,
    // No queue: sendActivity delivers inline and throws on failure, so the
    // control API can report crieur's answer to the test that asked.
  });

  federation
    .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
      if (identifier !== ACTOR) return null;
      const keys = await ctx.getActorKeyPairs(identifier);
      return new Person({
        id: ctx.getActorUri(identifier),
        preferredUsername: identifier,
        name: "Pair de test",
        summary: "<p>Serveur ActivityPub indépendant (Fedify) pour les tests de crieur.</p>",
        url: ctx.getActorUri(identifier),
        inbox: ctx.getInboxUri(identifier),
        endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
        followers: ctx.getFollowersUri(identifier),
        manuallyApprovesFollowers: false,
        discoverable: false,
        publicKey: keys[0].cryptographicKey,
        assertionMethods: keys.map((k) => k.multikey),
      });
    })
    .setKeyPairsDispatcher((_ctx, identifier) => {
      if (identifier !== ACTOR) return [];
      return [state.keyPair];
    });

  federation
    .setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) => {
      if (identifier !== ACTOR) return null;
      return { items: [...state.followers.keys()].map((id) => ({ id: new URL(id), inboxId: null })) };
    })
    .setCounter((_ctx, identifier) => (identifier === ACTOR ? state.followers.size : null));

  const inbox = federation.setInboxListeners("/users/{identifier}/inbox", "/inbox");
  // Fedify dispatches to the most specific registered class, so Activity is
  // the catch-all for Follow, Like, Move, Flag and the rest.
  for (const cls of [Accept, Reject, Create, Update, Delete, Announce, Undo, Activity]) {
    inbox.on(cls, (ctx, activity) => record(ctx, activity));
  }
  inbox.onError((_ctx, error) => {
    log.error("inbox listener failed: {error}", { error });
  });
  inbox.onUnverifiedActivity(async (_ctx, activity, reason) => {
    state.rejected.push({
      type: (await activity.toJsonLd({ format: "compact" }).catch(() => ({})))?.type ?? null,
      id: activity.id?.href ?? null,
      actorId: activity.actorId?.href ?? null,
      reason: reason.type,
      keyId: reason.keyId?.href ?? null,
      receivedAt: new Date().toISOString(),
    });
    // Returning nothing keeps Fedify's own 401.
  });
  return federation;
}

async function record(ctx, activity) {
  const json = await activity.toJsonLd();
  // Read the object's type from the embedded JSON rather than getObject():
  // dereferencing a bare id would make the recorder itself fetch from crieur.
  const obj = json.object;
  state.received.push({
    type: Array.isArray(json.type) ? json.type[0] : json.type,
    id: activity.id?.href ?? null,
    actorId: activity.actorId?.href ?? null,
    objectId: activity.objectId?.href ?? null,
    objectType: obj && typeof obj === "object" && !Array.isArray(obj) ? (obj.type ?? null) : null,
    recipient: ctx.recipient ?? null,
    json,
    receivedAt: new Date().toISOString(),
  });
  log.info("received {type} {id}", { type: json.type, id: activity.id?.href });
}

// ---- control API -----------------------------------------------------------

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function controlContext() {
  return state.federation.createContext(new URL(state.origin), undefined);
}

async function lookup(ctx, url, signed) {
  const documentLoader = signed
    ? await ctx.getDocumentLoader({ identifier: ACTOR })
    : ctx.documentLoader;
  let obj;
  try {
    obj = await ctx.lookupObject(url, { documentLoader, crossOrigin: "throw" });
  } catch (err) {
    throw new HttpError(502, `lookup ${url}: ${err?.message ?? err}`);
  }
  if (obj == null) throw new HttpError(502, `lookup ${url}: not found or not an ActivityStreams object`);
  return obj;
}

async function lookupActor(ctx, url) {
  const actor = await lookup(ctx, url, false);
  if (!isActor(actor)) throw new HttpError(502, `lookup ${url}: not an actor`);
  return actor;
}

function str(v) {
  return v == null ? null : v.toString();
}

function href(v) {
  if (v == null) return null;
  return v instanceof URL ? v.href : (v.href?.href ?? null);
}

async function summarize(ctx, obj, signed) {
  const raw = await obj.toJsonLd();
  const out = { type: Array.isArray(raw.type) ? raw.type[0] : raw.type, id: obj.id?.href ?? null };
  if (isActor(obj)) {
    let publicKey = null;
    const key = await obj.getPublicKey({ documentLoader: ctx.documentLoader }).catch(() => null);
    if (key != null) {
      publicKey = { id: key.id?.href ?? null, owner: key.ownerId?.href ?? null, pem: key.publicKey != null };
    }
    Object.assign(out, {
      preferredUsername: str(obj.preferredUsername),
      name: str(obj.name),
      summary: str(obj.summary),
      url: href(obj.url),
      inbox: href(obj.inboxId),
      outbox: href(obj.outboxId),
      followers: href(obj.followersId),
      following: href(obj.followingId),
      featured: href(obj.featuredId),
      endpoints: { sharedInbox: href(obj.endpoints?.sharedInbox) },
      manuallyApprovesFollowers: obj.manuallyApprovesFollowers,
      discoverable: obj.discoverable,
      indexable: obj.indexable ?? null,
      publicKey,
    });
  } else if (obj instanceof Collection) {
    // OrderedCollection(Page) and CollectionPage all extend Collection.
    const documentLoader = signed ? await ctx.getDocumentLoader({ identifier: ACTOR }) : ctx.documentLoader;
    const items = [];
    for await (const item of ctx.traverseCollection(obj, { documentLoader })) {
      items.push(item.id?.href ?? href(item) ?? null);
      if (items.length >= MAX_COLLECTION_ITEMS) break;
    }
    Object.assign(out, { totalItems: obj.totalItems, items });
  } else if (obj instanceof Note || obj instanceof Event) {
    let location = null;
    const place = await obj.getLocation({ documentLoader: ctx.documentLoader }).catch(() => null);
    if (place != null) location = str(place.name);
    Object.assign(out, {
      content: str(obj.content),
      name: str(obj.name),
      summary: str(obj.summary),
      url: href(obj.url),
      published: str(obj.published),
      startTime: str(obj.startTime),
      endTime: str(obj.endTime),
      location,
      attributedTo: href(obj.attributionId),
      to: obj.toIds.map((u) => u.href),
      cc: obj.ccIds.map((u) => u.href),
    });
  }
  out.raw = raw;
  return out;
}

async function control(req, url, body) {
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case "GET /_control/health":
      return { ok: true, origin: state.origin, actor: `${state.origin}/users/${ACTOR}`, firstKnock: state.firstKnock };
    case "GET /_control/received": {
      const type = url.searchParams.get("type");
      return type ? state.received.filter((a) => a.type === type) : state.received;
    }
    case "GET /_control/rejected":
      return state.rejected;
    case "GET /_control/sent":
      return state.sent;
    case "POST /_control/reset":
      state.received.length = 0;
      state.rejected.length = 0;
      state.sent.length = 0;
      return { ok: true };
    case "POST /_control/config": {
      if (body.firstKnock == null) throw new HttpError(400, "missing firstKnock");
      try {
        state.firstKnock = parseSpec(body.firstKnock);
      } catch (err) {
        throw new HttpError(400, err.message);
      }
      state.federation = buildFederation();
      return { firstKnock: state.firstKnock };
    }
    case "POST /_control/follow": {
      const ctx = controlContext();
      const actor = await lookupActor(ctx, requireURL(body.actor, "actor"));
      const follow = new Follow({
        id: new URL(`/users/${ACTOR}/follows/${randomUUID()}`, state.origin),
        actor: ctx.getActorUri(ACTOR),
        object: actor.id,
        to: actor.id,
      });
      await deliver(ctx, actor, follow);
      state.lastFollow.set(actor.id.href, follow);
      return { id: follow.id.href };
    }
    case "POST /_control/unfollow": {
      const ctx = controlContext();
      const actor = await lookupActor(ctx, requireURL(body.actor, "actor"));
      const follow = state.lastFollow.get(actor.id.href);
      if (follow == null) throw new HttpError(409, `no follow sent to ${actor.id.href}`);
      const undo = new Undo({
        id: new URL(`/users/${ACTOR}/undos/${randomUUID()}`, state.origin),
        actor: ctx.getActorUri(ACTOR),
        object: follow,
        to: actor.id,
      });
      await deliver(ctx, actor, undo);
      state.lastFollow.delete(actor.id.href);
      return { id: undo.id.href };
    }
    case "POST /_control/note": {
      const ctx = controlContext();
      const actor = await lookupActor(ctx, requireURL(body.actor, "actor"));
      const noteId = new URL(`/users/${ACTOR}/notes/${randomUUID()}`, state.origin);
      const to = body.direct === true ? [actor.id] : [PUBLIC_COLLECTION];
      const ccs = body.direct === true ? [] : [ctx.getFollowersUri(ACTOR), actor.id];
      const note = new Note({
        id: noteId,
        attribution: ctx.getActorUri(ACTOR),
        tos: to,
        ccs,
        content: typeof body.content === "string" ? body.content : "",
        replyTarget: body.inReplyTo ? new URL(requireURL(body.inReplyTo, "inReplyTo")) : null,
        tags: [new Mention({ href: actor.id, name: `@${actor.preferredUsername}@${actor.id.host}` })],
      });
      const create = new Create({
        id: new URL(`${noteId.href}/activity`),
        actor: ctx.getActorUri(ACTOR),
        object: note,
        tos: to,
        ccs,
      });
      await deliver(ctx, actor, create);
      return { id: noteId.href, activity: create.id.href };
    }
    case "POST /_control/lookup": {
      const ctx = controlContext();
      const obj = await lookup(ctx, requireURL(body.url, "url"), body.signed === true);
      return await summarize(ctx, obj, body.signed === true);
    }
    default:
      throw new HttpError(404, `no control route ${route}`);
  }
}

async function deliver(ctx, recipient, activity) {
  try {
    await ctx.sendActivity({ identifier: ACTOR }, recipient, activity);
  } catch (err) {
    throw new HttpError(502, `send ${activity.id.href}: ${err?.message ?? err}`);
  }
}

function requireURL(value, name) {
  if (typeof value !== "string" || value === "") throw new HttpError(400, `missing ${name}`);
  try {
    return new URL(value).href;
  } catch {
    throw new HttpError(400, `${name} is not a URL: ${value}`);
  }
}

// ---- HTTP plumbing (node:http <-> fetch Request/Response) ------------------

async function readBody(req, limit) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `body over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function sendJSON(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(body);
}

async function handle(req, res) {
  const url = new URL(req.url, state.origin);
  if (url.pathname.startsWith("/_control/")) {
    try {
      let body = {};
      if (req.method === "POST") {
        const raw = await readBody(req, MAX_CONTROL_BODY);
        if (raw.length > 0) body = JSON.parse(raw.toString("utf8"));
      }
      sendJSON(res, 200, await control(req, url, body));
    } catch (err) {
      const status = err instanceof HttpError ? err.status : err instanceof SyntaxError ? 400 : 500;
      if (status >= 500) log.error("control {path}: {error}", { path: url.pathname, error: err });
      sendJSON(res, status, { error: String(err?.message ?? err) });
    }
    return;
  }

  // Rebuild the request as the client sent it: Host decides the URL Fedify
  // verifies signatures against ((request-target), @authority, @target-uri).
  const host = req.headers.host ?? new URL(state.origin).host;
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  let body;
  if (req.method !== "GET" && req.method !== "HEAD") {
    try {
      body = await readBody(req, MAX_INBOX_BODY);
    } catch (err) {
      sendJSON(res, err.status ?? 400, { error: err.message });
      return;
    }
  }
  const request = new Request(`http://${host}${req.url}`, { method: req.method, headers, body });
  const response = await state.federation.fetch(request, { contextData: undefined });
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}

// ---- start and stop --------------------------------------------------------

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    log.error("{method} {url}: {error}", { method: req.method, url: req.url, error: err });
    if (!res.headersSent) sendJSON(res, 500, { error: String(err?.message ?? err) });
    else res.destroy();
  });
});

const port = Number.parseInt(process.env.PEER_PORT || "0", 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`PEER_PORT must be a port number, got ${process.env.PEER_PORT}\n`);
  process.exit(2);
}

state.keyPair = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
await new Promise((resolve, reject) => {
  server.once("error", reject);
  server.listen(port, "127.0.0.1", resolve);
});
state.origin = `http://127.0.0.1:${server.address().port}`;
state.federation = buildFederation();
process.stdout.write(`${JSON.stringify({ ready: true, url: state.origin })}\n`);
log.info("listening on {origin}", { origin: state.origin });

let stopping = false;
function stop(why) {
  if (stopping) return;
  stopping = true;
  log.info("stopping ({why})", { why });
  server.close(() => process.exit(0));
  server.closeAllConnections();
  // A hung handler must not keep a test run waiting.
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
if (process.env.PEER_EXIT_ON_STDIN_EOF === "1") {
  process.stdin.on("end", () => stop("stdin closed"));
  process.stdin.on("error", () => stop("stdin error"));
  process.stdin.resume();
}
