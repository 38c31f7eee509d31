@preconcurrency import Glibc
import Synchronization

/// Items posted from any thread (the client's I/O thread), taken by one
/// thread that waits for them with a timeout. The wait is a poll on a
/// pipe, so a Ctrl-C (delivered to the waiting thread, whose handler
/// does not restart calls) ends it at once as well.
public final class Mailbox<Item: Sendable>: Sendable {
  private let items = Mutex<[Item]>([])
  /// The pipe's read and write ends, both non-blocking: a byte written
  /// says "look".
  private let reader: Int32
  private let writer: Int32

  public init() {
    var fds: [Int32] = [-1, -1]
    precondition(pipe(&fds) == 0, "pipe failed: errno \(errno)")
    for fd in fds {
      _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
      _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }
    (reader, writer) = (fds[0], fds[1])
  }

  deinit {
    close(reader)
    close(writer)
  }

  public func post(_ item: Item) {
    items.withLock { $0.append(item) }
    var byte: UInt8 = 1
    _ = write(writer, &byte, 1)  // a full pipe already says "look"
  }

  /// What was posted, waiting up to `seconds` for something when nothing
  /// is; empty when the time is up or a signal came.
  public func take(waiting seconds: Double) -> [Item] {
    let ready = drain()
    if !ready.isEmpty || seconds <= 0 { return ready }
    var p = pollfd(fd: reader, events: Int16(POLLIN), revents: 0)
    _ = poll(&p, 1, Int32(min(seconds, 3600) * 1000 + 0.999))
    return drain()
  }

  private func drain() -> [Item] {
    var buffer = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
    while read(reader, &buffer, 32) == 32 {}  // non-blocking: empties the pipe
    return items.withLock { items in
      defer { items.removeAll(keepingCapacity: true) }
      return items
    }
  }
}
