import CCurl
import Threads

/// One request on its way through curl, the state both drivers of a multi
/// handle (the I/O thread's loop and performHere) move it through:
/// configured on an easy handle, stopped if it must be, then its outcome.
/// The response builds up here as it arrives.
final class Transfer {
  let id: UInt64
  let request: HTTPRequest
  let completion: Transport.Completion
  var headers: [(name: String, value: String)] = []
  var body: [UInt8] = []
  /// How much of the request's body onUpload has handed to curl.
  var uploaded = 0
  private var headerList: UnsafeMutablePointer<curl_slist>?
  /// The interrupt generation when it was submitted: a later Ctrl-C
  /// cancels it.
  let generation = Interrupt.generation
  private let errorBuffer = UnsafeMutableRawPointer.allocate(byteCount: Int(CURL_ERROR_SIZE) + 1, alignment: 1)

  init(id: UInt64, request: HTTPRequest, completion: @escaping Transport.Completion) {
    self.id = id
    self.request = request
    self.completion = completion
    errorBuffer.storeBytes(of: 0, as: UInt8.self)
  }

  deinit { errorBuffer.deallocate() }

  /// Why the transfer must stop now, if it must: the transport is shutting
  /// down, cancel() named it, or a Ctrl-C came after it was submitted
  /// (`generation` is the current one). Asked every round, on either path.
  func stopReason(shutdown: Bool = false, cancelled: Bool = false, generation: UInt32) -> TransportError? {
    let why =
      shutdown ? "the client shut down"
      : generation != self.generation ? "interrupted"
      : cancelled ? "cancelled" : nil
    return why.map { TransportError(kind: .cancelled, message: $0) }
  }

  /// Sets `h` up for this transfer's request.
  func configure(_ h: UnsafeMutableRawPointer, trust: TrustStore) {
    let r = request
    _ = r.url.withCString { kc_easy_setopt_ptr(h, CURLOPT_URL, $0) }
    _ = kc_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)
    _ = kc_easy_setopt_long(h, CURLOPT_PROTOCOLS, Int(CURLPROTO_HTTP | CURLPROTO_HTTPS))
    _ = kc_easy_setopt_long(h, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
    _ = kc_easy_setopt_ptr(h, CURLOPT_ACCEPT_ENCODING, "")
    _ = kc_easy_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, r.connectTimeoutMs)
    _ = kc_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, r.timeoutMs)
    // A page of 100 users is ~23 KB: one read and one write callback with
    // the curl tool's 100 KB buffer, where libcurl's default 16 KB takes two.
    _ = kc_easy_setopt_long(h, CURLOPT_BUFFERSIZE, 102_400)
    // TLS verification is always on; only the trust store can change.
    _ = kc_easy_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1)
    _ = kc_easy_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2)
    if let ca = trust.caBundle { _ = ca.withCString { kc_easy_setopt_ptr(h, CURLOPT_CAINFO, $0) } }
    if let dir = trust.caPath { _ = dir.withCString { kc_easy_setopt_ptr(h, CURLOPT_CAPATH, $0) } }
    _ = kc_easy_setopt_ptr(h, CURLOPT_ERRORBUFFER, errorBuffer)
    let me = Unmanaged.passUnretained(self).toOpaque()
    _ = kc_easy_setopt_writefn(h, CURLOPT_WRITEFUNCTION, onBody)
    _ = kc_easy_setopt_ptr(h, CURLOPT_WRITEDATA, me)
    _ = kc_easy_setopt_writefn(h, CURLOPT_HEADERFUNCTION, onHeader)
    _ = kc_easy_setopt_ptr(h, CURLOPT_HEADERDATA, me)
    switch r.method {
    case "GET": _ = kc_easy_setopt_long(h, CURLOPT_HTTPGET, 1)
    case "POST": _ = kc_easy_setopt_long(h, CURLOPT_POST, 1)
    default: _ = r.method.withCString { kc_easy_setopt_ptr(h, CURLOPT_CUSTOMREQUEST, $0) }
    }
    if let body = r.body ?? (r.method == "POST" ? [] : nil) {
      _ = kc_easy_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
      if r.sentOnce {
        // From onUpload, with no seek callback: curl cannot rewind it to
        // send it again on a new connection, so it fails instead.
        if r.method != "POST" { _ = kc_easy_setopt_long(h, CURLOPT_POST, 1) }
        _ = kc_easy_setopt_writefn(h, CURLOPT_READFUNCTION, onUpload)
        _ = kc_easy_setopt_ptr(h, CURLOPT_READDATA, Unmanaged.passUnretained(self).toOpaque())
      } else {
        _ = body.withUnsafeBytes { kc_easy_setopt_ptr(h, CURLOPT_COPYPOSTFIELDS, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)) }
      }
    }
    if let auth = r.basicAuth {
      _ = kc_easy_setopt_long(h, CURLOPT_HTTPAUTH, 1 /* CURLAUTH_BASIC: a macro Swift cannot import */)
      _ = auth.user.withCString { kc_easy_setopt_ptr(h, CURLOPT_USERNAME, $0) }
      _ = auth.password.withCString { kc_easy_setopt_ptr(h, CURLOPT_PASSWORD, $0) }
    }
    var list: UnsafeMutablePointer<curl_slist>?
    // curl adds "Expect: 100-continue" to large POSTs: a round trip for nothing.
    for line in r.headers + ["Expect:"] { list = line.withCString { kc_slist_append(list, $0) } }
    headerList = list
    _ = kc_easy_setopt_ptr(h, CURLOPT_HTTPHEADER, list)
  }

  /// What the transfer came to, once curl reports it done with `code`.
  func outcome(_ h: UnsafeMutableRawPointer, _ code: CURLcode) -> Result<HTTPResponse, TransportError> {
    if code == CURLE_OK {
      var status = 0
      _ = kc_easy_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
      var version = 0
      _ = kc_easy_getinfo_long(h, CURLINFO_HTTP_VERSION, &version)
      let v = version == Int(CURL_HTTP_VERSION_2_0) ? "2" : version == Int(CURL_HTTP_VERSION_1_0) ? "1.0" : "1.1"
      var port = 0
      _ = kc_easy_getinfo_long(h, CURLINFO_LOCAL_PORT, &port)
      return .success(
        HTTPResponse(status: status, headers: headers, body: body, httpVersion: v, localPort: port))
    }
    let detail = String(cString: errorBuffer.assumingMemoryBound(to: CChar.self))
    let text = detail.isEmpty ? String(cString: kc_easy_strerror(code)) : detail
    let kind: TransportError.Kind
    switch code {
    case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: kind = .connect
    case CURLE_OPERATION_TIMEDOUT: kind = .timeout
    case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM: kind = .tls
    case CURLE_SSL_CONNECT_ERROR: kind = .connect
    case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2,
      CURLE_HTTP2_STREAM:
      kind = .reset
    default: kind = .other
    }
    return .failure(TransportError(kind: kind, message: text))
  }

  /// Clears `h` for its next transfer; its connections stay open.
  func reset(_ h: UnsafeMutableRawPointer) {
    kc_easy_reset(h)
    if let list = headerList {
      kc_slist_free_all(list)
      headerList = nil
    }
  }
}

/// Where TLS trust comes from, when not from curl's defaults.
struct TrustStore: Sendable {
  let caBundle: String?
  let caPath: String?
}

private let onBody: kc_write_fn = { data, size, n, user in
  let t = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
  let count = size * n
  if let data, count > 0 {
    t.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: count))
  }
  return count
}

/// Feeds a `sentOnce` request's body to curl (CURLOPT_READFUNCTION has the
/// write callback's C type).
private let onUpload: kc_write_fn = { buffer, size, n, user in
  let t = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
  guard let buffer, let body = t.request.body else { return 0 }
  let count = min(size * n, body.count - t.uploaded)
  guard count > 0 else { return 0 }
  body.withUnsafeBytes { src in
    UnsafeMutableRawPointer(buffer).copyMemory(from: src.baseAddress! + t.uploaded, byteCount: count)
  }
  t.uploaded += count
  return count
}

private let onHeader: kc_write_fn = { data, size, n, user in
  let t = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
  let count = size * n
  guard let data, count > 0 else { return count }
  let line = UnsafeRawBufferPointer(start: data, count: count)
  if line.starts(with: "HTTP/".utf8) {
    t.headers.removeAll()  // a new response (after 100 Continue): start over
    return count
  }
  guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return count }
  // Lower-case ASCII in place of String.lowercased(): no Unicode tables.
  let name = String(unsafeUninitializedCapacity: colon) { out in
    for (i, c) in line[..<colon].enumerated() { out[i] = c >= 65 && c <= 90 ? c + 32 : c }
    return colon
  }
  var value = line[(colon + 1)...]
  while let f = value.first, f == 32 || f == 9 { value = value.dropFirst() }
  while let l = value.last, l == 10 || l == 13 || l == 32 || l == 9 { value = value.dropLast() }
  let text = String(decoding: value, as: UTF8.self)
  // Size the body buffer once instead of growing it chunk by chunk.
  if name == "content-length", let n = Int(text), n > 0, n < 64 << 20 { t.body.reserveCapacity(n) }
  t.headers.append((name, text))
  return count
}
