import CLua
import LuaJSON
import LuaKit
import LuaShim
import XCTest

/// The JSON codec, driven from Lua: `json` is LuaJSON's module table
/// (decode, encode, array, null), as scripts get it under `kc.json`.
final class LuaJSONTests: XCTestCase {
  var vm: LuaVM!

  override func setUpWithError() throws {
    vm = try LuaVM()
    vm.state.push(cFunction: kcjson_open)
    try vm.state.call(nargs: 0, nresults: 1)
    vm.state.setGlobal("json")
    try vm.run(
      """
      function eq(a, b, path)
        path = path or "value"
        if type(a) ~= type(b) then error(path .. ": " .. type(a) .. " vs " .. type(b), 2) end
        if type(a) ~= "table" then
          if a ~= b or math.type(a) ~= math.type(b) then
            error(path .. ": " .. tostring(a) .. " vs " .. tostring(b), 2)
          end
          return
        end
        for k, v in pairs(a) do eq(v, b[k], path .. "." .. tostring(k)) end
        for k in pairs(b) do if a[k] == nil then error(path .. ": missing " .. tostring(k), 2) end end
      end
      function fails(s, pattern)
        local ok, err = pcall(json.decode, s)
        if ok then error("decoded: " .. s, 2) end
        if pattern and not tostring(err):find(pattern, 1, true) then
          error("error for " .. s .. " was: " .. tostring(err), 2)
        end
        return err
      end
      """)
  }

  override func tearDown() { vm = nil }

  func run(_ code: String, file: StaticString = #filePath, line: UInt = #line) {
    do {
      try vm.run(code)
    } catch {
      XCTFail(error.description, file: file, line: line)
    }
  }

  func testScalars() {
    run(
      """
      assert(json.decode("1") == 1 and math.type(json.decode("1")) == "integer")
      assert(math.type(json.decode("1.0")) == "float")
      assert(json.decode("-0") == 0)
      assert(json.decode("1e3") == 1000.0 and math.type(json.decode("1e3")) == "float")
      assert(json.decode("9223372036854775807") == math.maxinteger)
      assert(json.decode("-9223372036854775808") == math.mininteger)
      assert(math.type(json.decode("-9223372036854775808")) == "integer")
      -- beyond int64: a float, not a wrapped integer
      local big = json.decode("9223372036854775808")
      assert(math.type(big) == "float" and big == 2^63, tostring(big))
      assert(math.type(json.decode("123456789012345678901234567890")) == "float")
      assert(json.decode("true") == true and json.decode("false") == false)
      assert(json.decode(" \\t\\n\\"x\\" ") == "x")
      assert(json.decode("null") == json.null)
      assert(tostring(json.null) == "kc.null")
      """)
  }

  func testStringsAndEscapes() {
    run(
      """
      assert(json.decode([["a\\"b\\\\c\\/d\\b\\f\\n\\r\\t"]]) == "a\\"b\\\\c/d\\b\\f\\n\\r\\t")
      assert(json.decode([["\\u00e9\\u4e2d\\ud83d\\ude00"]]) == "é中😀")
      assert(json.decode('"é中😀"') == "é中😀")
      assert(json.decode([["\\u0000"]]) == "\\0")
      -- encoding escapes control characters and keeps UTF-8 as is
      assert(json.encode("a\\"\\\\\\n\\1é") == [["a\\"\\\\\\n\\u0001é"]], json.encode("a\\"\\\\\\n\\1é"))
      for _, s in ipairs{"", "plain", "é中😀", "\\0\\1\\31", "\\"\\\\/", ("x"):rep(10000)} do
        assert(json.decode(json.encode(s)) == s)
      end
      """)
  }

  func testContainersRoundTrip() {
    run(
      """
      local doc = [==[{"items":[{"id":"u1","email":"ana@acme.com","role":"org_admin",
        "permissions":{"read":true},"n":1,"f":1.5,"tags":[],"meta":{}}],
        "page_info":{"has_next_page":false,"end_cursor":"abc"},"empty":[],"obj":{},
        "nested":[[1,[2,[3,{"x":[]}]]]]}]==]
      local v = json.decode(doc)
      assert(#v.items == 1 and v.items[1].email == "ana@acme.com")
      assert(v.page_info.has_next_page == false)
      -- arrays remember they were arrays; empty objects stay objects
      assert(json.encode(v.empty) == "[]")
      assert(json.encode(v.obj) == "{}")
      assert(json.encode(v.items[1].tags) == "[]")
      assert(json.encode(v.items[1].meta) == "{}")
      local again = json.decode(json.encode(v))
      eq(v, again)
      assert(json.encode(again.nested) == '[[1,[2,[3,{"x":[]}]]]]', json.encode(again.nested))
      -- Lua-built tables: 1..n is an array, an empty table an object
      assert(json.encode({1, 2, 3}) == "[1,2,3]")
      assert(json.encode({}) == "{}")
      assert(json.encode(json.array{}) == "[]")
      assert(json.encode({a = {b = {}}}) == '{"a":{"b":{}}}')
      """)
  }

  func testNull() {
    run(
      """
      local v = json.decode('{"a":null,"b":1,"c":[1,null,3]}')
      assert(v.a == nil and v.b == 1)           -- null field: absent
      assert(v.c[2] == json.null and #v.c == 3)  -- null item: kept in place
      assert(json.encode(v.c) == "[1,null,3]")
      assert(json.encode({name = json.null}) == '{"name":null}')
      """)
  }

  func testNumbersRoundTrip() {
    run(
      """
      for _, n in ipairs{0, 1, -1, math.maxinteger, math.mininteger, 1234567890123} do
        local s = json.encode(n)
        assert(not s:find("[.e]"), s)
        local back = json.decode(s)
        assert(back == n and math.type(back) == "integer", s)
      end
      for _, x in ipairs{0.0, 1.0, -2.0, 0.1, 1/3, 1e300, -1e-300, 2^53, 123.456, 5e-324} do
        local s = json.encode(x)
        local back = json.decode(s)
        assert(back == x and math.type(back) == "float", s .. " -> " .. tostring(back))
      end
      assert(json.encode(1.0) == "1.0")
      for _, bad in ipairs{0/0, 1/0, -1/0} do
        local ok, err = pcall(json.encode, {x = bad})
        assert(not ok and (err:find("NaN") or err:find("inf")), err)
      end
      """)
  }

  /// Pretty output: two-space indents, keys in byte order (the same text on
  /// every run), empty containers on one line; it reads back as the value.
  func testPrettyEncoding() {
    run(
      """
      local v = {b = {1, {}, json.array{}}, a = "x", ["é"] = json.null, B = {z = 1, y = {true}}}
      local s = json.encode(v, {pretty = true})
      assert(s == '{\\n  "B": {\\n    "y": [\\n      true\\n    ],\\n    "z": 1\\n  },\\n  "a": "x",\\n'
        .. '  "b": [\\n    1,\\n    {},\\n    []\\n  ],\\n  "é": null\\n}', s)
      eq(json.decode(s), json.decode(json.encode(v)))
      assert(json.encode({}, {pretty = true}) == "{}")
      assert(json.encode({1}, {pretty = false}) == "[1]")
      local ok, err = pcall(json.encode, {}, 5)
      assert(not ok and err:find("table expected"), err)
      local t = {}; t.self = t
      ok, err = pcall(json.encode, t, {pretty = true})
      assert(not ok and err:find("contains itself"), err)
      -- keys that differ only in length sort shorter first
      assert(json.encode({ab = 1, a = 2}, {pretty = true}) == '{\\n  "a": 2,\\n  "ab": 1\\n}')
      """)
  }

  func testEncoderRejects() {
    run(
      """
      local t = {}; t.self = t
      local ok, err = pcall(json.encode, t)
      assert(not ok and err:find("contains itself"), err)
      local a = {}; a[1] = {a}
      ok, err = pcall(json.encode, a)
      assert(not ok and err:find("contains itself"), err)
      -- the same table twice is not a cycle
      local shared = {1}
      assert(json.encode({shared, shared}) == "[[1],[1]]")
      ok, err = pcall(json.encode, {print})
      assert(not ok and err:find("function"), err)
      ok, err = pcall(json.encode, {1, 2, x = 3})
      assert(not ok and err:find("both array items and named fields"), err)
      ok, err = pcall(json.encode, {[1] = 1, [3] = 3})
      assert(not ok and err:find("sparse"), err)
      ok, err = pcall(json.encode, {[true] = 1})
      assert(not ok and err:find("key of type boolean"), err)
      ok, err = pcall(json.encode, "\\255")
      assert(not ok and err:find("UTF%-8"), err)
      local deep = {}
      local cur = deep
      for i = 1, 2000 do cur[1] = {}; cur = cur[1] end
      ok, err = pcall(json.encode, deep)
      assert(not ok and err:find("deeper"), err)
      """)
  }

  func testMalformedAndTruncated() {
    run(
      """
      fails("", "expected a value")
      fails("{", "end of input")
      fails('{"a":', "end of input")
      fails('{"a" 1}', "expected ':'")
      fails('{"a":1,}', "expected a string key")
      fails("[1,]", "expected a value")
      fails("[1 2]", "expected ',' or ']'")
      fails('"abc', "unterminated string")
      fails('"a\\\\x"', "invalid escape")
      fails('"\\\\u12"', "\\\\u escape")
      fails('"\\\\ud800"', "surrogate")
      fails('"\\\\udc00x"', "surrogate")
      fails('"\\255"', "UTF-8")
      fails('"\\xc0\\x80"', "UTF-8")         -- overlong
      fails('"\\xed\\xa0\\x80"', "UTF-8")     -- encoded surrogate
      fails('"\\xf4\\x90\\x80\\x80"', "UTF-8") -- beyond U+10FFFF
      fails('"a\\nb"', "control character")
      fails("01", "trailing")
      fails("1.", "invalid number")
      fails("-", "invalid number")
      fails("1e", "invalid number")
      fails("nul", "invalid literal")
      fails("tru", "invalid literal")
      fails("[1] x", "trailing")
      fails("\\xEF\\xBB\\xBF{}", "byte order mark")
      fails(("["):rep(1001) .. ("]"):rep(1001), "nesting deeper")
      local err = fails('{\\n  "a": x}')
      assert(err:find("line 2, column 8"), err)
      -- every prefix of a document is an error, never a crash
      local doc = '{"items":[{"id":"a\\\\u00e9","n":-12.5e3,"ok":true,"x":null}],"page_info":{}}'
      for i = 0, #doc - 1 do
        local ok = pcall(json.decode, doc:sub(1, i))
        assert(not ok, "prefix " .. i .. " decoded")
      end
      assert(json.decode(doc).items[1].id == "aé")
      """)
  }

  /// Thousands of seeded mutations of valid documents: each either decodes
  /// (and then re-encodes and decodes to the same value) or fails with an
  /// "invalid JSON" message. A crash fails the whole test run.
  func testSeededFuzz() {
    run(
      """
      local seeds = {
        '{"items":[{"id":"u1","email":"a@b.c","n":1,"f":-0.5e-3,"t":true,"z":null}],"page_info":{"has_next_page":false}}',
        '[[],{},[[[]]],{"a":{"b":{"c":[1,2,3]}}},"\\\\u00e9\\\\ud83d\\\\ude00",-9223372036854775808,1e308]',
        '"\\\\n\\\\t\\\\"\\\\\\\\\\\\/ é中"',
        '{"k":"v","k2":[true,false,null],"big":123456789012345678901234567890}',
      }
      local alphabet = '{}[]",:\\\\/-+.0123456789eEtruefalsn \\t\\n\\xc3\\xa9\\xff\\xed\\x80\\xf0'
      local state = 12345
      local function rand(n)  -- a fixed LCG: the same inputs on every run
        state = (state * 1103515245 + 12345) % 2147483648
        return state % n + 1
      end
      local decoded, rejected = 0, 0
      for i = 1, 20000 do
        local s = seeds[rand(#seeds)]
        for _ = 1, rand(4) do
          local pos = rand(#s + 1)
          local op = rand(4)
          if op == 1 then      -- delete a byte
            s = s:sub(1, pos - 1) .. s:sub(pos + 1)
          elseif op == 2 then  -- insert a byte
            local c = rand(#alphabet)
            s = s:sub(1, pos - 1) .. alphabet:sub(c, c) .. s:sub(pos)
          elseif op == 3 then  -- replace a byte with any byte
            s = s:sub(1, pos - 1) .. string.char(rand(256) - 1) .. s:sub(pos + 1)
          else                 -- truncate
            s = s:sub(1, pos)
          end
        end
        local ok, v = pcall(json.decode, s)
        if ok then
          decoded = decoded + 1
          local ok2, text = pcall(json.encode, v)
          if ok2 then eq(json.decode(text), v, "round trip of " .. s)
          else assert(text:find("NaN") or text:find("inf"), text) end
        else
          rejected = rejected + 1
          assert(type(v) == "string" and v:find("invalid JSON", 1, true), tostring(v))
        end
      end
      assert(decoded > 100 and rejected > 100, decoded .. "/" .. rejected)
      """)
  }

  /// Strings are scanned eight bytes at a time: a quote, backslash, control
  /// character or non-ASCII byte is found at every offset in a word.
  func testEveryOffsetOfTheWordScan() {
    run(
      #"""
      for before = 0, 19 do
        for after = 0, 9 do
          local a, b = string.rep("a", before), string.rep("b", after)
          eq(json.decode('"' .. a .. '\\"' .. b .. '"'), a .. '"' .. b)
          eq(json.decode('"' .. a .. '\\\\' .. b .. '"'), a .. '\\' .. b)
          eq(json.decode('"' .. a .. 'é' .. b .. '"'), a .. 'é' .. b)
          eq(json.decode('"' .. a .. '"'), a)
          fails('"' .. a .. '\1' .. b .. '"', "control character in string at line 1, column " .. before + 2)
          fails('"' .. a .. '\x7f\xff' .. b .. '"', "invalid UTF-8")
          fails('"' .. a .. b, "unterminated string")
        end
      end
      """#)
  }

  /// Keys, and the last value of each key, are pushed through a cache of
  /// Lua strings that outlives a decode: many keys (sharing cache entries),
  /// keys that differ in one byte, lengths around the 40-byte limit, escaped
  /// keys and values that change or repeat between items, all across
  /// collections, decode to what was encoded.
  func testStringCacheNeverMixesStringsUp() {
    run(
      #"""
      local state = 777
      local function rand(n)
        state = (state * 1103515245 + 12345) % 2147483648
        return state % n + 1
      end
      local keys = {"", "a", "b", "ab", "ba", "id", "Id", "created_at", "updated_at", 'a"b', "é"}
      for n = 36, 44 do keys[#keys + 1] = string.rep("k", n); keys[#keys + 1] = string.rep("k", n - 1) .. "j" end
      for i = 1, 300 do keys[#keys + 1] = "key" .. i end
      local values = {"", "x", "active", "org_member", string.rep("v", 40), string.rep("v", 41), 'a"b', "é"}
      for round = 1, 30 do
        local page = {}
        for item = 1, 50 do
          local o = {}
          for _ = 1, rand(12) do
            local v = rand(3) == 1 and ("u" .. rand(1000)) or values[rand(#values)]
            o[keys[rand(#keys)]] = rand(10) == 1 and rand(100) or v
          end
          page[item] = o
        end
        eq(json.decode(json.encode(page)), page, "round " .. round)
        collectgarbage()  -- cached strings must survive collections
      end
      """#)
  }

  /// Tables are sized from the last one at their depth, but a big one must
  /// not make the small or empty ones after it big: 200 empty arrays (or
  /// objects) after one of 100,000 items take kilobytes, not 300 MB.
  func testSizeHintsAreBoundedByTheInput() {
    run(
      #"""
      local nums, fields, empties, objs = {}, {}, {}, {}
      for i = 1, 100000 do nums[i] = "1" end
      for i = 1, 50000 do fields[i] = '"k' .. i .. '":1' end
      for i = 1, 200 do empties[i] = "[]"; objs[i] = "{}" end
      for _, text in ipairs{
        "[[" .. table.concat(nums, ",") .. "]," .. table.concat(empties, ",") .. "]",
        "[{" .. table.concat(fields, ",") .. "}," .. table.concat(objs, ",") .. "]",
        "[[" .. table.concat(nums, ",") .. "]," .. string.rep("[1],", 200) .. "[1]]",
      } do
        collectgarbage()
        local before = collectgarbage("count")
        local v = json.decode(text)
        local grown = collectgarbage("count") - before
        assert(#v == 201 or #v == 202, #v)
        assert(grown < 16 * 1024, ("%.0f KB for %d bytes of JSON"):format(grown, #text))
      end
      """#)
  }

  /// decode_buffer reads bytes without a Lua string (response bodies),
  /// called as KCModule calls it: a C function and a light userdata through
  /// LuaKit, in protected mode.
  func testDecodeBuffer() throws {
    let s = vm.state
    func decode(_ text: String) throws {
      let bytes = Array(text.utf8)
      try bytes.withUnsafeBytes { buf in
        s.push(cFunction: kcjson_decode_buffer)
        s.push(lightUserdata: UnsafeMutableRawPointer(mutating: buf.baseAddress))
        s.push(buf.count)
        try s.call(nargs: 2, nresults: 1)
      }
    }
    try decode(#"{"a":[1,2],"b":"x"}"#)
    s.setGlobal("decoded")
    run("assert(decoded.b == 'x' and decoded.a[2] == 2 and json.encode(decoded.a) == '[1,2]')")
    // The decoder raises on bad input: thrown, and the stack is as before.
    s.push("below")
    do {
      try decode(#"{"a":"#)
      XCTFail("expected an error")
    } catch let error as LuaError {
      XCTAssertTrue(error.value?.text?.hasPrefix("invalid JSON") ?? false, "\(error)")
    }
    XCTAssertEqual(s.top, 1)
    XCTAssertEqual(s.string(at: 1), "below")
    s.pop()
  }
}
