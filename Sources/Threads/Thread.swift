@preconcurrency import Glibc
import CThreads

/// A thread, to tell whether code runs on it.
public struct ThreadID: Equatable, Sendable {
  let thread: pthread_t

  public static var current: ThreadID { ThreadID(thread: pthread_self()) }

  public static func == (a: ThreadID, b: ThreadID) -> Bool { pthread_equal(a.thread, b.thread) != 0 }
}

/// Starts a thread that never takes SIGINT, so Ctrl-C always reaches the main
/// thread: the REPL waits for input with SIGINT let in only inside ppoll, and
/// a handler run on another thread would leave that wait asleep.
public func startThreadWithoutSIGINT(
  _ body: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?,
  _ argument: UnsafeMutableRawPointer?
) -> pthread_t? {
  var thread = pthread_t()
  return kcsh_start_thread(&thread, body, argument) == 0 ? thread : nil
}
