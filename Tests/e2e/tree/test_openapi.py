"""stdlib/kc/api.lua against the sandbox's /openapi.json: the same
operations (method and path), path parameters, and query and body
parameters with the same types, enums, ranges and required flags, so the
two descriptions cannot drift apart. The differences kcsh makes on purpose
are the rules in DELIBERATE, and each must still apply."""
import re

from treelib import api_operations


def api_spec(p):
    """A parameter of api.lua as the comparison sees it."""
    spec = {"type": p["type"], "enum": sorted(p.get("enum") or []) or None, "required": bool(p.get("required")),
            "min": p.get("min"), "max": p.get("max"), "multi": bool(p.get("multi"))}
    if p["type"] == "array":
        spec["items"] = p["items"]
    if p.get("fields"):
        spec["fields"] = {f["name"]: api_spec(f) for f in p["fields"]}
    return spec


def api_side():
    out = {}
    for op in api_operations():
        query, body = {}, {}
        for p in op["params"]:
            if p["in"] == "body":
                body[p["name"]] = api_spec(p)
            elif p["type"] == "object":  # query = {email = x} is sent as query[email]
                for f in p["fields"]:
                    query[f"{p['name']}[{f['name']}]"] = api_spec(f)
            else:
                query[p["name"]] = api_spec(p)
        out[(op["verb"], op["path"])] = {"path": sorted(re.findall(r"{(\w+)}", op["path"])),
                                         "query": query, "body": body, "op": op}
    return out


def sandbox_side(doc):
    schemas = doc["components"]["schemas"]

    def resolve(s):
        while "$ref" in s:
            s = schemas[s["$ref"].rsplit("/", 1)[1]]
        return s

    def spec(s, required):
        s = resolve(s)
        # An array of enum values is a parameter that may be repeated
        # (api.lua's multi): expand=permissions&expand=total_count.
        multi = s.get("type") == "array" and "enum" in s.get("items", {})
        one = s["items"] if multi else s
        out = {"type": one.get("type"), "enum": sorted(one.get("enum") or []) or None, "required": required,
               "min": one.get("minimum"), "max": one.get("maximum"), "multi": multi}
        if s.get("type") == "array" and not multi:
            out["items"] = s["items"]["type"]
        if "properties" in s:
            out["fields"] = props(s)
        return out

    def props(s):
        req = set(s.get("required", []))
        return {k: spec(v, k in req) for k, v in s["properties"].items()}

    out = {}
    for path, item in doc["paths"].items():
        for verb, o in item.items():
            # Operations with their own security (none: the sandbox's controls
            # and the invitee's endpoints; basic auth: the token endpoint) are
            # not the organization tree's.
            if "security" in o:
                continue
            ps = o.get("parameters", [])
            body = {}
            if "requestBody" in o:
                body = props(resolve(o["requestBody"]["content"]["application/json"]["schema"]))
            out[(verb.upper(), path)] = {
                "path": sorted(p["name"] for p in ps if p["in"] == "path"),
                "query": {p["name"]: spec(p["schema"], p.get("required", False)) for p in ps if p["in"] == "query"},
                "body": body}
    return out


# What kcsh leaves out on purpose: rule(key, api op, sandbox op) changes the
# sandbox's side and says whether it changed anything.
def total_count_only_where_counted(key, api, sandbox):
    """expand=total_count fills pagination.total_count, which only a
    total_count operation (identities) has; kcsh offers it there only."""
    ex = sandbox["query"].get("expand")
    if api["op"].get("total_count") or not ex or "total_count" not in (ex["enum"] or []):
        return False
    ex["enum"] = [e for e in ex["enum"] if e != "total_count"]
    return True


def no_expand_on_writes(key, api, sandbox):
    """kcsh's creates and updates take body fields only; the sandbox also
    accepts expand there."""
    if key[0] in ("POST", "PATCH") and "expand" in sandbox["query"] and "expand" not in api["query"]:
        del sandbox["query"]["expand"]
        return True
    return False


SSO_EXTRAS = {"oauth2": ["authorization_parameters"], "openid": ["scopes", "user_identifier_claim"]}


def sso_protocols_as_the_reference(key, api, sandbox):
    """protocols follows the API reference text, which has none of these
    fields that the sandbox knows (from the official clients)."""
    prot = sandbox["body"].get("protocols")
    if not prot or "protocols" not in api["body"]:
        return False
    changed = False
    for part, names in SSO_EXTRAS.items():
        for name in names:
            changed = prot["fields"][part]["fields"].pop(name, None) is not None or changed
    return changed


DELIBERATE = [total_count_only_where_counted, no_expand_on_writes, sso_protocols_as_the_reference]


def differences(a, b, where):
    out = []
    for k in sorted(set(a) | set(b)):
        if k not in b:
            out.append(f"{where}{k}: in api.lua only")
        elif k not in a:
            out.append(f"{where}{k}: in the sandbox only")
        else:
            for f in sorted(set(a[k]) | set(b[k])):
                if f == "fields":
                    out += differences(a[k].get(f, {}), b[k].get(f, {}), f"{where}{k}.")
                elif a[k].get(f) != b[k].get(f):
                    out.append(f"{where}{k}: {f} is {a[k].get(f)!r} in api.lua, {b[k].get(f)!r} in the sandbox")
    return out


def test_api_lua_describes_what_the_sandbox_serves(demo):
    doc = demo.get("/openapi.json").json()
    ours, theirs = api_side(), sandbox_side(doc)
    assert sorted(set(ours) - set(theirs)) == [], "in api.lua, but the sandbox does not serve them"
    assert sorted(set(theirs) - set(ours)) == [], "served by the sandbox, but not in api.lua"
    used = set()
    problems = []
    for key in sorted(ours):
        a, b = ours[key], theirs[key]
        for rule in DELIBERATE:
            if rule(key, a, b):
                used.add(rule.__name__)
        if a["path"] != b["path"]:
            problems.append(f"{key}: path parameters {a['path']} in api.lua, {b['path']} in the sandbox")
        for part in ("query", "body"):
            problems += differences(a[part], b[part], f"{key[0]} {key[1]} {part} ")
    assert problems == []
    # A rule that no longer changes anything is stale: take it out.
    assert used == {rule.__name__ for rule in DELIBERATE}
