"""A small provider in plugin protocol 6, written with pyvider, for
Landform's tests (tests/plugin_pyvider.rs): objects kept as JSON files in
the directory PYV_STORE names, so that the test can see and change them.

pyv_thing: a required string, an optional number, a computed string and an
optional sensitive string; its plan, apply and read warn of a size over 100. pyv_box: a nested attribute (protocol 6's nested
type, nesting single) beside a required and a computed string.
"""
import json
import os
from decimal import Decimal

import attrs
from pyvider.providers import BaseProvider, ProviderMetadata, register_provider
from pyvider.resources import BaseResource, register_resource
from pyvider.schema import a_num, a_obj, a_str, s_resource


@register_provider("pyv")
class PyvProvider(BaseProvider):
    def __init__(self):
        super().__init__(metadata=ProviderMetadata(name="pyv", version="0.1.0"))


def _store(kind, name):
    return os.path.join(os.environ["PYV_STORE"], f"{kind}-{name}.json")


def _plain(v):
    # Nested values may arrive as cty values.
    if hasattr(v, "is_null") and hasattr(v, "value"):
        v = None if v.is_null else v.value
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


@attrs.define
class ThingConfig:
    name: str
    size: Decimal | None = None
    secret: str | None = None


@attrs.define
class ThingState:
    name: str
    size: Decimal | None = None
    secret: str | None = None
    id: str | None = None


@register_resource("pyv_thing")
class Thing(BaseResource):
    config_class = ThingConfig
    state_class = ThingState

    @classmethod
    def get_schema(cls):
        return s_resource({
            "name": a_str(required=True),
            "size": a_num(optional=True),
            "id": a_str(computed=True),
            "secret": a_str(optional=True, sensitive=True),
        })

    async def _validate_config(self, config):
        return []

    async def _create(self, ctx, base_plan):
        base_plan["id"] = None
        self._warn(ctx, base_plan)
        return base_plan, None

    async def _update(self, ctx, base_plan):
        self._warn(ctx, base_plan)
        return base_plan, None

    def _warn(self, ctx, base_plan):
        # A warning in PlanResourceChange's answer.
        size = _plain(base_plan.get("size"))
        if isinstance(size, (int, float)) and size > 100:
            ctx.add_warning("Large thing", f"A size of {size} is over 100: the thing will be slow.")

    def _write(self, ctx):
        p = ctx.planned_state
        # A warning in ApplyResourceChange's answer.
        size = _plain(p.size)
        if isinstance(size, (int, float)) and size > 100:
            ctx.add_warning("Large thing written", f"A thing of size {size} was written; reading it will be slow.")
        st = ThingState(name=p.name, size=p.size, secret=p.secret, id="thing-" + p.name)
        with open(_store("thing", st.name), "w") as f:
            json.dump(_plain(attrs.asdict(st)), f)
        return st, None

    async def _create_apply(self, ctx):
        return self._write(ctx)

    async def _update_apply(self, ctx):
        if ctx.state.name != ctx.planned_state.name:
            try:
                os.remove(_store("thing", ctx.state.name))
            except FileNotFoundError:
                pass
        return self._write(ctx)

    async def read(self, ctx):
        try:
            with open(_store("thing", ctx.state.name)) as f:
                d = json.load(f)
        except FileNotFoundError:
            return None
        # A warning in ReadResourceResponse.
        if isinstance(d["size"], (int, float)) and d["size"] > 100:
            ctx.add_warning("Large thing read", f"Reading a thing of size {d['size']} was slow.")
        return ThingState(name=d["name"], size=None if d["size"] is None else Decimal(str(d["size"])),
                          secret=d["secret"], id=d["id"])

    async def _delete_apply(self, ctx):
        try:
            os.remove(_store("thing", ctx.state.name))
        except FileNotFoundError:
            pass


@attrs.define
class BoxConfig:
    name: str
    spec: dict | None = None


@attrs.define
class BoxState:
    name: str
    spec: dict | None = None
    id: str | None = None


@register_resource("pyv_box")
class Box(BaseResource):
    config_class = BoxConfig
    state_class = BoxState

    @classmethod
    def get_schema(cls):
        return s_resource({
            "name": a_str(required=True),
            "spec": a_obj({"color": a_str(required=True), "count": a_num(optional=True)}, optional=True),
            "id": a_str(computed=True),
        })

    async def _validate_config(self, config):
        return []

    async def _create(self, ctx, base_plan):
        base_plan["id"] = None
        return base_plan, None

    def _write(self, ctx):
        p = ctx.planned_state
        st = BoxState(name=p.name, spec=_plain(p.spec), id="box-" + p.name)
        with open(_store("box", st.name), "w") as f:
            json.dump(_plain(attrs.asdict(st)), f)
        return st, None

    async def _create_apply(self, ctx):
        return self._write(ctx)

    async def _update_apply(self, ctx):
        return self._write(ctx)

    async def read(self, ctx):
        try:
            with open(_store("box", ctx.state.name)) as f:
                d = json.load(f)
        except FileNotFoundError:
            return None
        spec = d["spec"]
        if spec is not None and spec.get("count") is not None:
            spec["count"] = Decimal(str(spec["count"]))
        return BoxState(name=d["name"], spec=spec, id=d["id"])

    async def _delete_apply(self, ctx):
        try:
            os.remove(_store("box", ctx.state.name))
        except FileNotFoundError:
            pass
