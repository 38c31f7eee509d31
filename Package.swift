// swift-tools-version:6.0
import PackageDescription
import Foundation

// KCSH_LEAN=1 leaves out the sandbox server and its dependencies (Hummingbird,
// GRDB). The AddressSanitizer pass of scripts/test uses it, so the bridge and the
// shell are checked without rebuilding a web stack under ASan.
let lean = ProcessInfo.processInfo.environment["KCSH_LEAN"] == "1"

var package = Package(
  name: "kcsh",
  products: [
    .executable(name: "kcsh", targets: ["kcsh"])
  ],
  dependencies: [],
  targets: [
    .systemLibrary(
      name: "CLua", pkgConfig: "lua5.4",
      providers: [.apt(["liblua5.4-dev"])]),
    .systemLibrary(
      name: "CEdit", pkgConfig: "libedit",
      providers: [.apt(["libedit-dev"])]),
    // libcurl is opened with dlopen on first use (see Sources/CCurl), so it is
    // a plain C target: linking libcurl would cost every start-up ~3.5 ms.
    .target(name: "CCurl", linkerSettings: [.linkedLibrary("dl")]),
    // SQLite likewise, for --journal only (see Sources/CSQLite).
    .target(name: "CSQLite", linkerSettings: [.linkedLibrary("dl")]),
    // Threads, their SIGINT mask and the one Ctrl-C model (CThreads.h).
    .target(name: "CThreads"),
    .target(name: "Threads", dependencies: ["CThreads"]),
    .target(name: "LuaShim", dependencies: ["CLua"]),
    .target(name: "LuaKit", dependencies: ["LuaShim", "CLua", "Threads"]),
    .target(
      name: "Shell",
      dependencies: ["LuaKit", "CEdit", "KeycardClient", "LuaJSON", "Threads", "CSQLite"]),
    .target(name: "LuaJSON", dependencies: ["CLua"]),
    .target(name: "KeycardClient", dependencies: ["CCurl", "Threads"]),
    .executableTarget(name: "kcsh", dependencies: ["Shell"]),
    .testTarget(name: "LuaKitTests", dependencies: ["LuaKit", "LuaShim", "CLua", "Threads"]),
    .testTarget(name: "LuaJSONTests", dependencies: ["LuaJSON", "LuaKit", "LuaShim", "CLua"]),
    .testTarget(name: "KeycardClientTests", dependencies: ["KeycardClient", "Threads"]),
    .testTarget(name: "ThreadsTests", dependencies: ["Threads", "CThreads"]),
    // Printer, Completer and argument parsing, through `@testable import Shell`.
    .testTarget(name: "ShellTests", dependencies: ["Shell", "LuaKit"]),
  ]
)

if !lean {
  package.products.append(.executable(name: "kcsh-sandbox", targets: ["kcsh-sandbox"]))
  package.dependencies += [
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
  ]
  package.targets += [
    .target(
      name: "KeycardSandbox",
      dependencies: [
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "GRDB", package: "GRDB.swift"),
      ]),
    .executableTarget(name: "kcsh-sandbox", dependencies: ["KeycardSandbox"]),
    .testTarget(name: "KeycardSandboxTests", dependencies: ["KeycardSandbox"]),
  ]
}
