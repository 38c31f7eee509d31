import CThreads
import Threads
import XCTest

@preconcurrency import Glibc

/// The one SIGINT handler: installed for the length of the outermost
/// install/run, with the disposition found before put back after it, and
/// what a SIGINT does inside and outside runs. Signals are raised on the
/// test's own thread, so the handler has run when raise returns.
final class InterruptTests: XCTestCase {
  /// The disposition of SIGINT now, as a number to compare.
  func disposition() -> UInt {
    var now = sigaction()
    sigaction(SIGINT, nil, &now)
    return unsafeBitCast(now.__sigaction_handler.sa_handler, to: UInt.self)
  }

  /// Runs `body` with SIGINT ignored before it, and checks it is again after.
  func withSIGINTIgnored(_ body: () -> Void, line: UInt = #line) {
    let old = signal(SIGINT, SIG_IGN)
    defer { signal(SIGINT, old) }
    let ignored = disposition()
    body()
    XCTAssertEqual(disposition(), ignored, "the disposition before was not put back", line: line)
  }

  func testNestedInstallsRestoreTheDispositionFoundFirst() {
    withSIGINTIgnored {
      let ignored = disposition()
      var ours: UInt = 0
      Interrupt.installed {
        ours = disposition()
        XCTAssertNotEqual(ours, ignored)
        Interrupt.installed {
          Interrupt.during { XCTAssertEqual(disposition(), ours) }
          XCTAssertEqual(disposition(), ours)
        }
        // The inner pair's end leaves the outer one's handler in place.
        XCTAssertEqual(disposition(), ours)
      }
      XCTAssertNotEqual(ours, 0)
    }
  }

  func testRunsNestAndTheLastEndRestores() {
    withSIGINTIgnored {
      let ignored = disposition()
      Interrupt.during {
        let ours = disposition()
        XCTAssertNotEqual(ours, ignored)
        Interrupt.during {}
        XCTAssertEqual(disposition(), ours)
      }
    }
  }

  func testAThrowingRunStillRestores() {
    struct Stop: Error {}
    withSIGINTIgnored {
      do throws(Stop) {
        try Interrupt.installed { () throws(Stop) in try Interrupt.during { () throws(Stop) in throw Stop() } }
        XCTFail("no error")
      } catch {}
    }
  }

  /// A custom handler found first comes back too, not just SIG_IGN/SIG_DFL.
  func testAHandlerFoundFirstIsPutBack() {
    var mine = sigaction()
    mine.__sigaction_handler.sa_handler = { _ in }
    sigemptyset(&mine.sa_mask)
    var old = sigaction()
    sigaction(SIGINT, &mine, &old)
    defer { sigaction(SIGINT, &old, nil) }
    let found = disposition()
    Interrupt.during { XCTAssertNotEqual(disposition(), found) }
    XCTAssertEqual(disposition(), found)
  }

  /// Inside a run a SIGINT bumps the generation and calls the watchers;
  /// outside runs (the prompt) it only leaves the prompt's mark.
  func testSIGINTInAndOutsideRuns() {
    withSIGINTIgnored {
      Interrupt.installed {
        // The handler writes here (not to a Swift variable the test reads).
        let calls = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        calls.initialize(to: 0)
        defer { calls.deallocate() }
        let before = Interrupt.generation
        _ = Interrupt.takePromptInterrupt()
        Interrupt.watching({ $0!.assumingMemoryBound(to: Int.self).pointee += 1 }, calls) {
          Interrupt.during { _ = raise(SIGINT) }
          XCTAssertEqual(Interrupt.generation, before &+ 1)
          XCTAssertEqual(calls.pointee, 1)
          XCTAssertFalse(Interrupt.takePromptInterrupt())
          raise(SIGINT)  // installed, but no run: the prompt's
        }
        XCTAssertEqual(Interrupt.generation, before &+ 1)
        XCTAssertEqual(calls.pointee, 1)
        XCTAssertTrue(Interrupt.takePromptInterrupt())
        XCTAssertFalse(Interrupt.takePromptInterrupt())
      }
    }
  }

  /// A fatal watcher's SIGINT leaves SIG_DFL (the next one ends the process,
  /// as lua.c's laction does); removing the watcher catches SIGINT again.
  func testAFatalWatcherArmsTheDefaultUntilRemoved() {
    withSIGINTIgnored {
      Interrupt.during {
        let ours = disposition()
        let slot = Interrupt.watch({ _ in }, nil, fatal: true)
        raise(SIGINT)
        XCTAssertEqual(disposition(), unsafeBitCast(SIG_DFL, to: UInt.self))
        Interrupt.unwatch(slot)
        XCTAssertEqual(disposition(), ours)
      }
    }
  }
}
