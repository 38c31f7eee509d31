import Synchronization

/// Keeps a log that holds the newest `capacity` items (readers take `suffix(capacity)`)
/// from growing without bound. It trims only once the log is twice as long, so an append costs
/// O(1) amortized rather than an O(capacity) shift under the lock on each call.
private func trimBounded<T>(_ items: inout [T], capacity: Int) {
  if items.count > 2 * capacity { items.removeFirst(items.count - capacity) }
}

/// The last requests the sandbox received (not /_sandbox/* ones), for client tests:
/// did a retry keep its X-Client-Request-ID, did a bad call send nothing at all.
public final class RequestLog: Sendable {
  struct Entry: Sendable {
    let seq: Int
    let method: String
    let path: String
    let query: String
    let requestID: String?
    let status: Int
    let fault: String?
    /// Seconds since the epoch, formatted only when read (recording is per request).
    let at: Double
  }
  private let entries = Mutex<(next: Int, items: [Entry])>((1, []))
  let capacity: Int

  public init(capacity: Int = 1000) { self.capacity = capacity }

  func record(method: String, path: String, query: String, requestID: String?, status: Int, fault: String?) {
    entries.withLock { e in
      e.items.append(Entry(seq: e.next, method: method, path: path, query: query, requestID: requestID, status: status, fault: fault, at: Clock.nowSeconds()))
      e.next += 1
      trimBounded(&e.items, capacity: capacity)
    }
  }

  func clear() { entries.withLock { $0.items.removeAll() } }

  func json(limit: Int) -> [UInt8] {
    let items = entries.withLock { Array($0.items.suffix(min(limit, capacity))) }
    var w = JSONWriter()
    w.beginObject()
    w.key("items")
    w.beginArray()
    for e in items {
      w.beginObject()
      w.field("seq", e.seq)
      w.field("method", e.method)
      w.field("path", e.path)
      w.field("query", e.query)
      w.field("request_id", e.requestID)
      w.field("status", e.status)
      w.field("fault", e.fault)
      w.field("received_at", Clock.format(e.at))
      w.endObject()
    }
    w.endArray()
    w.endObject()
    return w.bytes
  }
}

/// Mail the sandbox "sent": one message per invitation, holding the token that the
/// invitee would get by email. Kept in memory only (it holds the plaintext token).
public final class Outbox: Sendable {
  struct Mail: Sendable {
    let id: String
    let to: String
    let subject: String
    let token: String
    let invitationID: String
    let organizationID: String
    let organizationName: String
    let role: String
    let sentAt: String
  }
  private let mails = Mutex<[Mail]>([])
  let capacity: Int

  public init(capacity: Int = 10_000) { self.capacity = capacity }

  func send(_ m: Mail) {
    mails.withLock {
      $0.append(m)
      trimBounded(&$0, capacity: capacity)
    }
  }

  func clear() { mails.withLock { $0.removeAll() } }

  func json(to: String?) -> [UInt8] {
    let items = mails.withLock { all in
      let m = all.suffix(capacity)
      return to.map { t in m.filter { $0.to.lowercased() == t.lowercased() } } ?? Array(m)
    }
    var w = JSONWriter()
    w.beginObject()
    w.key("items")
    w.beginArray()
    for m in items {
      w.beginObject()
      w.field("id", m.id)
      w.field("to", m.to)
      w.field("subject", m.subject)
      w.field("body", "You have been invited to join \(m.organizationName) as \(m.role). Accept with: POST /invitations/\(m.token)/accept")
      w.field("token", m.token)
      w.field("invitation_id", m.invitationID)
      w.field("organization_id", m.organizationID)
      w.field("sent_at", m.sentAt)
      w.endObject()
    }
    w.endArray()
    w.endObject()
    return w.bytes
  }
}
