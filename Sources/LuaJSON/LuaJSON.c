#include "LuaJSON.h"
#include <lauxlib.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Registry keys: addresses unique to this file. */
static const char NULL_KEY = 0;
static const char ARRAY_MT_KEY = 0;
static const char CACHE_KEY = 0;

/* Deeper nesting than this is refused: it bounds the C recursion. */
#define MAX_DEPTH 1000

static int null_tostring(lua_State *L) {
  lua_pushliteral(L, "kc.null");
  return 1;
}

void kcjson_push_null(lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &NULL_KEY) != LUA_TNIL) return;
  lua_pop(L, 1);
  lua_newuserdatauv(L, 0, 0);
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, null_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, "kc.null");
  lua_setfield(L, -2, "__name");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &NULL_KEY);
}

void kcjson_push_array_mt(lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &ARRAY_MT_KEY) != LUA_TNIL) return;
  lua_pop(L, 1);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "array");
  lua_setfield(L, -2, "__jsontype");
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &ARRAY_MT_KEY);
}

/* ---------------------------------------------------------------- decoding */

/* Strings seen lately, as the Lua strings made for them: object keys, and
 * the last value of each key. The items of a page repeat the same few keys,
 * and many of their values too (a status, a role, a source), so pushing
 * such a string through the cache costs a memcmp and a table read, where
 * lua_pushlstring hashes it and walks the string table. The strings are
 * anchored in a table kept in the registry (a Lua string never moves), so the
 * cache outlives one decode. Entries 0..KEY_SLOTS-1 hold keys, by a hash of
 * their bytes; entry KEY_SLOTS + k holds the last value of key entry k. */
#define KEY_SLOTS 64
#define CACHED_MAX 40 /* LUAI_MAXSHORTLEN: longer strings are not interned anyway */
typedef struct {
  const char *s[2 * KEY_SLOTS]; /* the bytes of the string at anchor[i + 1], or NULL */
  unsigned char n[2 * KEY_SLOTS];
} StringCache;
#define NOT_CACHED (-1)
#define AS_KEY (-2)

typedef struct {
  lua_State *L;
  const unsigned char *start, *p, *end;
  int null_idx, array_mt_idx; /* absolute stack indices */
  StringCache *cache;
  int cache_idx; /* the table that anchors the cached strings */
  int depth, deepest; /* deepest: the levels whose hints are set */
  /* The size of the last object and array seen at each depth: the items of
   * a page share a shape, so a table made with the previous one's size
   * needs no rehashing as it fills (4 rehashes for a 7-field object). */
  int object_hint[MAX_DEPTH + 2];
  int array_hint[MAX_DEPTH + 2];
} Decoder;

static int fail(Decoder *d, const unsigned char *at, const char *what) {
  size_t line = 1, col = 1;
  for (const unsigned char *q = d->start; q < at && q < d->end; q++) {
    if (*q == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  if (at >= d->end)
    return luaL_error(d->L, "invalid JSON: %s at end of input (line %d, column %d)", what,
                      (int)line, (int)col);
  return luaL_error(d->L, "invalid JSON: %s at line %d, column %d (byte %d)", what, (int)line,
                    (int)col, (int)(at - d->start) + 1);
}

static inline void skip_ws(Decoder *d) {
  const unsigned char *p = d->p, *end = d->end;
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  d->p = p;
}

/* Length of the valid UTF-8 sequence at p (non-ASCII lead byte), or 0. */
static inline size_t utf8_len(const unsigned char *p, const unsigned char *end) {
  unsigned c = p[0];
  if (c >= 0xC2 && c <= 0xDF) {
    if (end - p >= 2 && (p[1] & 0xC0) == 0x80) return 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0; /* overlong */
    if (c == 0xED && p[1] > 0x9F) return 0; /* surrogate */
    return 3;
  } else if (c >= 0xF0 && c <= 0xF4) {
    if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
      return 0;
    if (c == 0xF0 && p[1] < 0x90) return 0; /* overlong */
    if (c == 0xF4 && p[1] > 0x8F) return 0; /* beyond U+10FFFF */
    return 4;
  }
  return 0;
}

static int hex4(const unsigned char *p, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned c = p[i], h;
    if (c >= '0' && c <= '9') h = c - '0';
    else if (c >= 'a' && c <= 'f') h = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') h = c - 'A' + 10;
    else return 0;
    v = (v << 4) | h;
  }
  *out = v;
  return 1;
}

static size_t put_utf8(char *out, unsigned cp) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  } else if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  } else if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* The first byte from p on that a string cannot copy as it is: a quote, a
 * backslash, a control character or a non-ASCII byte; or end. Eight bytes a
 * step: a flagged byte sets its top bit, and the lowest flag is exact
 * (borrows only run upwards, from a flagged byte). */
static inline const unsigned char *plain_run(const unsigned char *p, const unsigned char *end) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  const uint64_t ones = 0x0101010101010101u, tops = 0x8080808080808080u;
  while (end - p >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    uint64_t quote = w ^ (ones * '"'), slash = w ^ (ones * '\\');
    uint64_t hit = w | ((quote - ones) & ~quote) | ((slash - ones) & ~slash) | ((w - ones * 0x20) & ~w);
    hit &= tops;
    if (hit) return p + (__builtin_ctzll(hit) >> 3);
    p += 8;
  }
#endif
  while (p < end && *p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x80) p++;
  return p;
}

/* Pushes the n bytes at s as cache entry i. */
static void push_cached(Decoder *d, unsigned i, const unsigned char *s, size_t n) {
  StringCache *c = d->cache;
  if (c->s[i] && c->n[i] == n && memcmp(c->s[i], s, n) == 0) {
    lua_rawgeti(d->L, d->cache_idx, (lua_Integer)i + 1);
    return;
  }
  const char *made = lua_pushlstring(d->L, (const char *)s, n);
  lua_pushvalue(d->L, -1);
  lua_rawseti(d->L, d->cache_idx, (lua_Integer)i + 1);
  c->s[i] = made; /* only once anchored */
  c->n[i] = (unsigned char)n;
}

/* Pushes the n bytes at s, through the cache as `use` says (NOT_CACHED,
 * AS_KEY, or the value of the key in entry `use`); returns a key's entry,
 * else NOT_CACHED. */
static int push_string(Decoder *d, const unsigned char *s, size_t n, int use) {
  if (use == NOT_CACHED || n == 0 || n > CACHED_MAX) {
    lua_pushlstring(d->L, (const char *)s, n);
    return NOT_CACHED;
  }
  if (use == AS_KEY) {
    unsigned i = ((unsigned)n * 31u + s[0] * 7u + s[n / 2] * 3u + s[n - 1]) % KEY_SLOTS;
    push_cached(d, i, s, n);
    return (int)i;
  }
  push_cached(d, KEY_SLOTS + (unsigned)use, s, n);
  return NOT_CACHED;
}

/* Pushes the string whose opening quote is at d->p; an unescaped one goes
 * through the cache as `use` says (see push_string), whose answer this is. */
static int decode_string(Decoder *d, int use) {
  const unsigned char *p = d->p + 1, *end = d->end;
  const unsigned char *s = p;
  /* Fast path: no escapes, so the bytes are the string. */
  for (;;) {
    p = plain_run(p, end);
    if (p >= end) fail(d, p, "unterminated string");
    if (*p == '"') {
      d->p = p + 1;
      return push_string(d, s, (size_t)(p - s), use);
    }
    if (*p == '\\') break;
    if (*p < 0x20) fail(d, p, "control character in string");
    size_t n = utf8_len(p, end);
    if (n == 0) fail(d, p, "invalid UTF-8 in string");
    p += n;
  }
  /* Slow path: unescape into a buffer. */
  luaL_Buffer b;
  luaL_buffinit(d->L, &b);
  luaL_addlstring(&b, (const char *)s, (size_t)(p - s));
  for (;;) {
    const unsigned char *run = p;
    p = plain_run(p, end);
    if (p > run) luaL_addlstring(&b, (const char *)run, (size_t)(p - run));
    if (p >= end) fail(d, p, "unterminated string");
    unsigned c = *p;
    if (c == '"') break;
    if (c < 0x20) fail(d, p, "control character in string");
    if (c >= 0x80) {
      size_t n = utf8_len(p, end);
      if (n == 0) fail(d, p, "invalid UTF-8 in string");
      luaL_addlstring(&b, (const char *)p, n);
      p += n;
      continue;
    }
    /* backslash */
    if (end - p < 2) fail(d, end, "unterminated string");
    const unsigned char *esc = p;
    switch (p[1]) {
    case '"': luaL_addchar(&b, '"'); p += 2; break;
    case '\\': luaL_addchar(&b, '\\'); p += 2; break;
    case '/': luaL_addchar(&b, '/'); p += 2; break;
    case 'b': luaL_addchar(&b, '\b'); p += 2; break;
    case 'f': luaL_addchar(&b, '\f'); p += 2; break;
    case 'n': luaL_addchar(&b, '\n'); p += 2; break;
    case 'r': luaL_addchar(&b, '\r'); p += 2; break;
    case 't': luaL_addchar(&b, '\t'); p += 2; break;
    case 'u': {
      unsigned cp, lo;
      if (end - p < 6 || !hex4(p + 2, &cp)) fail(d, esc, "invalid \\u escape");
      p += 6;
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, &lo) || lo < 0xDC00 ||
            lo > 0xDFFF)
          fail(d, esc, "unpaired surrogate in \\u escape");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        p += 6;
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        fail(d, esc, "unpaired surrogate in \\u escape");
      }
      char out[4];
      luaL_addlstring(&b, out, put_utf8(out, cp));
      break;
    }
    default:
      fail(d, esc, "invalid escape in string");
    }
  }
  luaL_pushresult(&b);
  d->p = p + 1;
  return NOT_CACHED;
}

static void decode_number(Decoder *d) {
  const unsigned char *p = d->p, *end = d->end, *start = p;
  int neg = 0;
  if (*p == '-') {
    neg = 1;
    p++;
  }
  if (p >= end || *p < '0' || *p > '9') fail(d, start, "invalid number");
  const unsigned char *digits = p;
  uint64_t u = 0;
  int overflow = 0;
  if (*p == '0') {
    p++;
  } else {
    while (p < end && *p >= '0' && *p <= '9') {
      unsigned dgt = *p - '0';
      if (u > (UINT64_MAX - dgt) / 10) overflow = 1;
      else u = u * 10 + dgt;
      p++;
    }
  }
  int is_float = 0;
  if (p < end && *p == '.') {
    is_float = 1;
    p++;
    if (p >= end || *p < '0' || *p > '9') fail(d, p, "invalid number");
    while (p < end && *p >= '0' && *p <= '9') p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    is_float = 1;
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    if (p >= end || *p < '0' || *p > '9') fail(d, p, "invalid number");
    while (p < end && *p >= '0' && *p <= '9') p++;
  }
  (void)digits;
  d->p = p;
  if (!is_float && !overflow) {
    if (!neg && u <= (uint64_t)INT64_MAX) {
      lua_pushinteger(d->L, (lua_Integer)u);
      return;
    }
    if (neg && u <= (uint64_t)INT64_MAX + 1) {
      lua_pushinteger(d->L, (lua_Integer)(0 - u));
      return;
    }
  }
  /* Floats and integers beyond int64: strtod on a NUL-terminated copy. */
  size_t n = (size_t)(p - start);
  char small[64];
  char *buf = small;
  if (n >= sizeof small) buf = (char *)lua_newuserdatauv(d->L, n + 1, 0);
  memcpy(buf, start, n);
  buf[n] = 0;
  double v = strtod(buf, NULL);
  if (buf != small) lua_pop(d->L, 1);
  lua_pushnumber(d->L, v);
}

static int expect_literal(Decoder *d, const char *lit, size_t n) {
  if ((size_t)(d->end - d->p) < n || memcmp(d->p, lit, n) != 0) fail(d, d->p, "invalid literal");
  d->p += n;
  return 1;
}

/* Pushes the value at d->p; returns 0 for null (nothing pushed), else 1. A
 * string goes through the cache as `use` says (see push_string). */
static int decode_value(Decoder *d, int use);

/* One level down, past the opening bracket: bounds the recursion, makes
 * room on the stack, and clears the level's hints when first reached. */
static void enter(Decoder *d) {
  if (++d->depth > MAX_DEPTH) fail(d, d->p, "nesting deeper than 1000 levels");
  if (!lua_checkstack(d->L, 4)) fail(d, d->p, "too deep for the Lua stack");
  if (d->depth > d->deepest) {
    d->deepest = d->depth;
    d->object_hint[d->depth] = d->array_hint[d->depth] = 0;
  }
  d->p++;
  skip_ws(d);
}

/* A new container's size: the last one's at this depth, but no more than
 * the rest of the input could fill at `min_bytes` an item, so one big
 * container does not make every later one at its depth big. */
static int size_hint(const Decoder *d, int last, size_t min_bytes) {
  size_t room = (size_t)(d->end - d->p) / min_bytes + 1;
  return (size_t)last < room ? last : (int)room;
}

static void decode_object(Decoder *d) {
  lua_State *L = d->L;
  enter(d);
  if (d->p < d->end && *d->p == '}') {
    lua_createtable(L, 0, 0);
    d->p++;
    d->depth--;
    return;
  }
  lua_createtable(L, 0, size_hint(d, d->object_hint[d->depth], 4)); /* "k":0, */
  int fields = 0;
  for (;;) {
    skip_ws(d);
    if (d->p >= d->end || *d->p != '"') fail(d, d->p, "expected a string key");
    int key = decode_string(d, AS_KEY);
    skip_ws(d);
    if (d->p >= d->end || *d->p != ':') fail(d, d->p, "expected ':'");
    d->p++;
    skip_ws(d);
    /* A string value goes through the cache as the last value of its key. */
    if (decode_value(d, key)) {
      lua_rawset(L, -3);
      fields++;
    } else {
      lua_pop(L, 1); /* null: the field stays absent */
    }
    skip_ws(d);
    if (d->p >= d->end) fail(d, d->p, "expected ',' or '}'");
    if (*d->p == ',') {
      d->p++;
      continue;
    }
    if (*d->p == '}') {
      d->p++;
      break;
    }
    fail(d, d->p, "expected ',' or '}'");
  }
  d->object_hint[d->depth] = fields;
  d->depth--;
}

static void decode_array(Decoder *d) {
  lua_State *L = d->L;
  enter(d);
  int empty = d->p < d->end && *d->p == ']';
  lua_createtable(L, empty ? 0 : size_hint(d, d->array_hint[d->depth], 2), 0); /* 0, */
  lua_pushvalue(L, d->array_mt_idx);
  lua_setmetatable(L, -2);
  if (empty) {
    d->p++;
    d->depth--;
    return;
  }
  lua_Integer i = 1;
  for (;;) {
    skip_ws(d);
    if (!decode_value(d, NOT_CACHED)) lua_pushvalue(L, d->null_idx); /* keep positions */
    lua_rawseti(L, -2, i++);
    skip_ws(d);
    if (d->p >= d->end) fail(d, d->p, "expected ',' or ']'");
    if (*d->p == ',') {
      d->p++;
      continue;
    }
    if (*d->p == ']') {
      d->p++;
      break;
    }
    fail(d, d->p, "expected ',' or ']'");
  }
  d->array_hint[d->depth] = (int)(i - 1 < 1 << 20 ? i - 1 : 1 << 20);
  d->depth--;
}

static int decode_value(Decoder *d, int use) {
  if (d->p >= d->end) fail(d, d->p, "expected a value");
  switch (*d->p) {
  case '{': decode_object(d); return 1;
  case '[': decode_array(d); return 1;
  case '"': decode_string(d, use); return 1;
  case 't': expect_literal(d, "true", 4); lua_pushboolean(d->L, 1); return 1;
  case 'f': expect_literal(d, "false", 5); lua_pushboolean(d->L, 0); return 1;
  case 'n': expect_literal(d, "null", 4); return 0;
  case '-': case '0': case '1': case '2': case '3': case '4':
  case '5': case '6': case '7': case '8': case '9':
    decode_number(d);
    return 1;
  default:
    return fail(d, d->p, "expected a value");
  }
}

/* Pushes the string cache's anchor table and returns the cache. */
static StringCache *push_cache(lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &CACHE_KEY) == LUA_TUSERDATA) {
    StringCache *c = (StringCache *)lua_touserdata(L, -1);
    lua_getiuservalue(L, -1, 1);
    lua_remove(L, -2);
    return c;
  }
  lua_pop(L, 1);
  StringCache *c = (StringCache *)lua_newuserdatauv(L, sizeof *c, 1);
  memset(c, 0, sizeof *c);
  lua_createtable(L, 2 * KEY_SLOTS, 0);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, -3, 1);
  lua_insert(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &CACHE_KEY);
  return c;
}

static int decode(lua_State *L, const char *s, size_t n) {
  Decoder d;
  luaL_checkstack(L, 8, "decoding JSON");
  kcjson_push_null(L);
  d.null_idx = lua_gettop(L);
  kcjson_push_array_mt(L);
  d.array_mt_idx = lua_gettop(L);
  d.cache = push_cache(L);
  d.cache_idx = lua_gettop(L);
  d.L = L;
  d.start = d.p = (const unsigned char *)s;
  d.end = d.start + n;
  d.depth = d.deepest = 0;
  /* A UTF-8 byte order mark is not JSON; say so rather than "expected a value". */
  if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) fail(&d, d.p, "byte order mark");
  skip_ws(&d);
  if (!decode_value(&d, NOT_CACHED)) lua_pushvalue(L, d.null_idx); /* a bare null */
  skip_ws(&d);
  if (d.p < d.end) fail(&d, d.p, "trailing characters after the value");
  return 1;
}

int kcjson_decode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  return decode(L, s, n);
}

int kcjson_decode_buffer(lua_State *L) {
  const char *s = (const char *)lua_touserdata(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  if (s == NULL && n > 0) return luaL_error(L, "decode_buffer: no buffer");
  return decode(L, s ? s : "", (size_t)n);
}

/* ---------------------------------------------------------------- encoding */

/* Output buffer in a userdata at a fixed stack slot (so an error mid-way
 * leaks nothing: the GC owns it). luaL_Buffer would not do: it needs the top
 * of the stack, and encoding pushes keys and values as it walks tables. */
typedef struct {
  lua_State *L;
  char *data;
  size_t len, cap;
  int slot;      /* stack index of the buffer's userdata */
  int seen;      /* stack index of the table of tables being encoded */
  int null_idx, array_mt_idx;
  int depth;
  int pretty;    /* indent by two spaces a level (keys sorted too) */
  int sorted;    /* keys in byte order: the same text on every run */
} Encoder;

static void grow(Encoder *e, size_t need) {
  size_t cap = e->cap ? e->cap : 256;
  while (cap - e->len < need) cap *= 2;
  char *data = (char *)lua_newuserdatauv(e->L, cap, 0);
  if (e->len) memcpy(data, e->data, e->len);
  lua_replace(e->L, e->slot);
  e->data = data;
  e->cap = cap;
}

static inline void put(Encoder *e, const char *s, size_t n) {
  if (e->cap - e->len < n) grow(e, n);
  memcpy(e->data + e->len, s, n);
  e->len += n;
}

static inline void putc_(Encoder *e, char c) {
  if (e->cap == e->len) grow(e, 1);
  e->data[e->len++] = c;
}

static void encode_string(Encoder *e, int idx) {
  size_t n;
  const unsigned char *s = (const unsigned char *)lua_tolstring(e->L, idx, &n);
  const unsigned char *p = s, *end = s + n;
  static const char hex[] = "0123456789abcdef";
  putc_(e, '"');
  while (p < end) {
    const unsigned char *run = p;
    while (p < end && *p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x80) p++;
    if (p > run) put(e, (const char *)run, (size_t)(p - run));
    if (p >= end) break;
    unsigned c = *p;
    if (c >= 0x80) {
      size_t k = utf8_len(p, end);
      if (k == 0) luaL_error(e->L, "cannot encode a string that is not valid UTF-8 as JSON");
      put(e, (const char *)p, k);
      p += k;
      continue;
    }
    char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    switch (c) {
    case '"': put(e, "\\\"", 2); break;
    case '\\': put(e, "\\\\", 2); break;
    case '\n': put(e, "\\n", 2); break;
    case '\r': put(e, "\\r", 2); break;
    case '\t': put(e, "\\t", 2); break;
    case '\b': put(e, "\\b", 2); break;
    case '\f': put(e, "\\f", 2); break;
    default: put(e, esc, 6); break;
    }
    p++;
  }
  putc_(e, '"');
}

static void encode_number(Encoder *e, int idx) {
  char buf[64];
  int n;
  if (lua_isinteger(e->L, idx)) {
    n = snprintf(buf, sizeof buf, "%lld", (long long)lua_tointeger(e->L, idx));
  } else {
    double v = lua_tonumber(e->L, idx);
    if (isnan(v) || isinf(v)) luaL_error(e->L, "cannot encode %s as JSON", isnan(v) ? "NaN" : "inf");
    /* The shortest form that reads back as the same double. */
    for (int prec = 15; prec <= 17; prec++) {
      n = snprintf(buf, sizeof buf, "%.*g", prec, v);
      if (strtod(buf, NULL) == v) break;
    }
    /* Keep a float a float: 1.0 must not come back as the integer 1. */
    if (strpbrk(buf, ".eEn") == NULL) {
      buf[n++] = '.';
      buf[n++] = '0';
      buf[n] = 0;
    }
  }
  put(e, buf, (size_t)n);
}

static void encode_value(Encoder *e, int idx);

/* A line break and the indent of the current depth (pretty only). */
static void newline(Encoder *e) {
  putc_(e, '\n');
  for (int i = 0; i < e->depth; i++) put(e, "  ", 2);
}

typedef struct {
  const char *s;
  size_t n;
  lua_Integer i; /* index in the keys table */
} Key;

static int key_cmp(const void *a, const void *b) {
  const Key *x = a, *y = b;
  int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
  return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* The object at idx with its keys in byte order, so pretty output is the
 * same on every run (a table's own order is not). The keys live in a table
 * and the sort array in a userdata: an error midway leaks nothing. */
static void encode_sorted_object(Encoder *e, int idx) {
  lua_State *L = e->L;
  lua_newtable(L);
  int keys = lua_gettop(L);
  lua_Integer n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, keys, ++n);
  }
  Key *sorted = (Key *)lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof(Key), 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, keys, i);
    sorted[i - 1].s = lua_tolstring(L, -1, &sorted[i - 1].n); /* anchored by keys */
    sorted[i - 1].i = i;
    lua_pop(L, 1);
  }
  qsort(sorted, (size_t)n, sizeof(Key), key_cmp);
  putc_(e, '{');
  for (lua_Integer i = 0; i < n; i++) {
    if (i > 0) putc_(e, ',');
    if (e->pretty) newline(e);
    lua_rawgeti(L, keys, sorted[i].i);
    encode_string(e, lua_gettop(L));
    if (e->pretty) put(e, ": ", 2);
    else putc_(e, ':');
    lua_rawget(L, idx);
    encode_value(e, lua_gettop(L));
    lua_pop(L, 1);
  }
  if (e->pretty && n > 0) {
    e->depth--;
    newline(e);
    e->depth++;
  }
  putc_(e, '}');
  lua_pop(L, 2);
}

/* 1: an array of n items; 0: an object (or empty). Raises on mixed keys. */
static int classify(Encoder *e, int idx, lua_Integer *len) {
  lua_State *L = e->L;
  if (lua_getmetatable(L, idx)) {
    int is_array = lua_rawequal(L, -1, e->array_mt_idx);
    lua_pop(L, 1);
    if (is_array) {
      *len = (lua_Integer)lua_rawlen(L, idx);
      return 1;
    }
  }
  lua_Integer count = 0, max = 0;
  int strings = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      strings = 1;
    } else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1) {
      lua_Integer k = lua_tointeger(L, -1);
      if (k > max) max = k;
      count++;
    } else {
      luaL_error(L, "cannot encode a table key of type %s as JSON (keys are strings, or 1..n)",
                 luaL_typename(L, -1));
    }
  }
  if (count == 0) return 0;
  if (strings) luaL_error(L, "cannot encode a table with both array items and named fields as JSON");
  if (max != count) luaL_error(L, "cannot encode a sparse array as JSON (use kc.null for holes)");
  *len = count;
  return 1;
}

static void encode_table(Encoder *e, int idx) {
  lua_State *L = e->L;
  if (++e->depth > MAX_DEPTH) luaL_error(L, "cannot encode tables nested deeper than 1000 levels");
  luaL_checkstack(L, 6, "encoding JSON");
  const void *ptr = lua_topointer(L, idx);
  if (lua_rawgetp(L, e->seen, ptr) != LUA_TNIL) luaL_error(L, "cannot encode a table that contains itself as JSON");
  lua_pop(L, 1);
  lua_pushboolean(L, 1);
  lua_rawsetp(L, e->seen, ptr);
  lua_Integer n;
  if (classify(e, idx, &n)) {
    putc_(e, '[');
    for (lua_Integer i = 1; i <= n; i++) {
      if (i > 1) putc_(e, ',');
      if (e->pretty) newline(e);
      lua_rawgeti(L, idx, i);
      if (lua_isnil(L, -1)) put(e, "null", 4);
      else encode_value(e, lua_gettop(L));
      lua_pop(L, 1);
    }
    if (e->pretty && n > 0) {
      e->depth--;
      newline(e);
      e->depth++;
    }
    putc_(e, ']');
  } else if (e->sorted) {
    encode_sorted_object(e, idx);
  } else {
    putc_(e, '{');
    int first = 1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      if (!first) putc_(e, ',');
      first = 0;
      encode_string(e, lua_gettop(L) - 1);
      putc_(e, ':');
      encode_value(e, lua_gettop(L));
      lua_pop(L, 1);
    }
    putc_(e, '}');
  }
  lua_pushnil(L);
  lua_rawsetp(L, e->seen, ptr);
  e->depth--;
}

static void encode_value(Encoder *e, int idx) {
  lua_State *L = e->L;
  switch (lua_type(L, idx)) {
  case LUA_TNIL: put(e, "null", 4); break;
  case LUA_TBOOLEAN:
    if (lua_toboolean(L, idx)) put(e, "true", 4);
    else put(e, "false", 5);
    break;
  case LUA_TNUMBER: encode_number(e, idx); break;
  case LUA_TSTRING: encode_string(e, idx); break;
  case LUA_TTABLE: encode_table(e, idx); break;
  case LUA_TUSERDATA:
    if (lua_rawequal(L, idx, e->null_idx)) {
      put(e, "null", 4);
      break;
    }
    luaL_error(L, "cannot encode a userdata as JSON");
    break;
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, idx) == NULL) { /* lua-cjson's cjson.null */
      put(e, "null", 4);
      break;
    }
    luaL_error(L, "cannot encode a light userdata as JSON");
    break;
  default:
    luaL_error(L, "cannot encode a %s as JSON", luaL_typename(L, idx));
  }
}

int kcjson_encode(lua_State *L) {
  luaL_checkany(L, 1);
  int pretty = 0, sorted = 0;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_getfield(L, 2, "pretty");
    pretty = lua_toboolean(L, -1);
    lua_getfield(L, 2, "sorted");
    sorted = lua_toboolean(L, -1);
  }
  lua_settop(L, 1);
  Encoder e;
  e.pretty = pretty;
  e.sorted = pretty || sorted;
  e.L = L;
  kcjson_push_null(L);
  e.null_idx = lua_gettop(L);
  kcjson_push_array_mt(L);
  e.array_mt_idx = lua_gettop(L);
  lua_newtable(L);
  e.seen = lua_gettop(L);
  lua_pushnil(L);
  e.slot = lua_gettop(L);
  e.data = NULL;
  e.len = e.cap = 0;
  e.depth = 0;
  encode_value(&e, 1);
  lua_pushlstring(L, e.data ? e.data : "", e.len);
  return 1;
}

int kcjson_mark_array(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  kcjson_push_array_mt(L);
  lua_setmetatable(L, 1);
  return 1;
}

int kcjson_open(lua_State *L) {
  lua_createtable(L, 0, 4);
  lua_pushcfunction(L, kcjson_decode);
  lua_setfield(L, -2, "decode");
  lua_pushcfunction(L, kcjson_encode);
  lua_setfield(L, -2, "encode");
  lua_pushcfunction(L, kcjson_mark_array);
  lua_setfield(L, -2, "array");
  kcjson_push_null(L);
  lua_setfield(L, -2, "null");
  return 1;
}
