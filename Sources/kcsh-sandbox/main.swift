// kcsh-sandbox: argument parsing and wiring only; the server is KeycardSandbox.
import Foundation
import KeycardSandbox
import Logging

import Glibc

let usage = """
  usage: kcsh-sandbox [options]

  Serves a local Keycard API (organizations, users, invitations, service accounts,
  credentials, SSO) on 127.0.0.1, backed by SQLite. Once listening it prints
      KEYCARD_API_BASE_URL=http://127.0.0.1:PORT
      KEYCARD_API_API_KEY=KEY
  to standard output; logs go to standard error. SIGINT or SIGTERM stops it.
  The API key stands for the user admin@sandbox.keycard.local, who becomes the
  first org_admin of each organization it creates.

  options:
    --port N           port to listen on; 0 (the default) picks a free one
    --api-key KEY      the API key to accept (default: a new random key)
    --db PATH          keep data in the SQLite file PATH (WAL); default: in memory
    --demo             add demo organizations (acme, globex, initech) with users,
                       invitations, service accounts, credentials and SSO
    --scale N          add an organization labelled 'scale' holding N users
    --faults SPEC      answer a share of requests with faults, e.g.
                       429=0.1,503=0.05,reset=0.02,latency=20ms
                       (STATUS=share for any status 400-599, reset=share drops the
                       connection, lost=share carries the request out and then
                       drops the connection, latency=DURATION[@share] delays,
                       retry-after=DURATION is the wait 429 and 503 ask for, 1s
                       by default); off by default
    --seed N           seed of the fault generator (same seed, same faults)
    --token-ttl SECS   lifetime of issued access tokens (default 3600)
    --invitation-ttl SECS
                       lifetime of invitations (default 604800, a week)
    --rate-limit N     allow N requests a second for each API key or access token
                       (a token bucket, bursts of up to N); more are answered 429
                       with the Retry-After the bucket needs; off by default
    --exit-with-stdin  exit when standard input reaches end of file
    -h, --help         show this help

  Test endpoints (no credentials, never faulted): GET/PUT /_sandbox/faults,
  GET/DELETE /_sandbox/requests, GET/DELETE /_sandbox/outbox; the OpenAPI document
  is at GET /openapi.json.

  """

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("kcsh-sandbox: \(message)\nTry 'kcsh-sandbox --help'.\n".utf8))
  exit(2)
}

var options = SandboxOptions()
var demo = false
var scale: Int?
var exitWithStdin = false
var args = Array(CommandLine.arguments.dropFirst())
while !args.isEmpty {
  var arg = args.removeFirst()
  var inline: String?
  if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
    inline = String(arg[arg.index(after: eq)...])
    arg = String(arg[..<eq])
  }
  func value() -> String {
    if let inline { return inline }
    guard !args.isEmpty else { fail("option \(arg) needs a value") }
    return args.removeFirst()
  }
  func number(_ range: ClosedRange<Int>) -> Int {
    let v = value()
    guard let n = Int(v), range.contains(n) else { fail("option \(arg) needs a number in \(range.lowerBound)...\(range.upperBound), got '\(v)'") }
    return n
  }
  switch arg {
  case "-h", "--help": print(usage, terminator: ""); exit(0)
  case "--port": options.port = number(0...65535)
  case "--api-key":
    let k = value()
    guard !k.isEmpty, k.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else { fail("--api-key needs a non-empty key without spaces") }
    options.apiKey = k
  case "--db": options.dbPath = value()
  case "--demo": demo = true
  case "--scale": scale = number(0...10_000_000)
  case "--faults": options.faults = value()
  case "--seed":
    let v = value()
    guard let n = UInt64(v) else { fail("--seed needs a non-negative integer, got '\(v)'") }
    options.seed = n
  case "--token-ttl": options.tokenTTL = number(1...31_536_000)
  case "--invitation-ttl": options.invitationTTL = number(1...31_536_000)
  case "--rate-limit":
    let v = value()
    guard let n = Double(v), n > 0, n <= 1_000_000 else { fail("--rate-limit needs requests per second above 0 (at most 1000000), got '\(v)'") }
    options.rateLimit = n
  case "--exit-with-stdin": exitWithStdin = true
  default: fail("unknown option '\(arg)'")
  }
}

LoggingSystem.bootstrap { label in
  var h = StreamLogHandler.standardError(label: label)
  h.logLevel = .info
  return h
}
let logger = Logger(label: "kcsh-sandbox")

SandboxServer.tuneAllocator()
let sandbox: SandboxServer
do {
  sandbox = try SandboxServer(options, logger: logger)
  if demo, try sandbox.store.loadDemo(invitationTTL: options.invitationTTL) { logger.info("demo data loaded: organizations acme, globex, initech") }
  if let scale {
    let start = Clock.seconds()
    if try sandbox.store.loadScale(scale) {
      logger.info("scale data loaded: organization 'scale' with \(scale) users in \(Int((Clock.seconds() - start) * 1000)) ms")
    }
  }
} catch {
  fail("cannot start: \(error)")
}

/// A parent that dies closes our stdin: stop the same way as on SIGTERM. Started once
/// listening, when the server's signal handlers are in place.
func watchStdin() {
  let t = Thread {
    var buf = [UInt8](repeating: 0, count: 4096)
    while read(0, &buf, buf.count) > 0 {}
    kill(getpid(), SIGTERM)
  }
  t.start()
}

let key = sandbox.apiKey
let watch = exitWithStdin
do {
  try await sandbox.run(host: options.host, port: options.port) { port in
    print("KEYCARD_API_BASE_URL=http://127.0.0.1:\(port)")
    print("KEYCARD_API_API_KEY=\(key)")
    fflush(nil)
    if watch { watchStdin() }
  }
} catch {
  fail("server failed: \(error)")
}
