"""Drives the sidecar's A2A endpoint with the official A2A Python SDK (PyPI a2a-sdk, in the venv
hack/test-tools.sh makes), as another agent platform would: resolve the agent card, then over
A2A 1.0 (the SDK's default transport, chosen from the card) send a message, stream one, get the
task, continue the conversation, cancel a slow task; and over A2A 0.3 (the SDK's compat
transport) the same calls with the 0.3 method names. Prints one JSON object with what it saw;
exits non-zero on any unexpected SDK error.

    python a2a_sdk_client.py BASE_URL TOKEN FAKE_LLM_URL
"""

import asyncio
import json
import sys

import httpx
from a2a.client import ClientConfig, ClientFactory
from a2a.client.card_resolver import A2ACardResolver
from a2a.compat.v0_3.jsonrpc_transport import CompatJsonRpcTransport
from a2a.helpers.proto_helpers import new_text_message
from a2a.types.a2a_pb2 import (
    CancelTaskRequest,
    GetTaskRequest,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    TaskState,
)


def text_of(parts):
    return "".join(p.text for p in parts)


def task_summary(task):
    return {
        "id": task.id,
        "contextId": task.context_id,
        "state": TaskState.Name(task.status.state),
        "answer": "".join(text_of(a.parts) for a in task.artifacts),
        "history": [text_of(m.parts) for m in task.history],
        "statusMessage": text_of(task.status.message.parts),
    }


def request(text, context_id=None, return_immediately=False):
    msg = new_text_message(text, context_id=context_id, role=Role.ROLE_USER)
    return SendMessageRequest(
        message=msg, configuration=SendMessageConfiguration(return_immediately=return_immediately)
    )


async def one_task(client, req):
    """The task a non-streaming send_message answers with."""
    async for ev in client.send_message(req):
        return ev.task
    raise RuntimeError("no event")


async def streamed(client, req):
    """Every event of a streamed send, summarised, and the answer the chunks add up to."""
    events, chunks, last_state = [], [], None
    async for ev in client.send_message(req):
        kind = ev.WhichOneof("payload")
        events.append(kind)
        if kind == "artifact_update":
            chunks.append(text_of(ev.artifact_update.artifact.parts))
        elif kind == "status_update":
            last_state = TaskState.Name(ev.status_update.status.state)
        elif kind == "task":
            last_state = TaskState.Name(ev.task.status.state)
    return {"events": events, "answer": "".join(chunks), "finalState": last_state}


async def slow(fake_llm, ms):
    async with httpx.AsyncClient() as c:
        (await c.post(fake_llm + "/admin/faults", json={"latencyMs": ms})).raise_for_status()


async def error_of(coro):
    try:
        await coro
    except Exception as e:  # the SDK's mapped A2A error
        return {"type": type(e).__name__, "message": str(e)}
    return None


async def main(base, token, fake_llm):
    out = {}
    http = httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    card = await A2ACardResolver(httpx.AsyncClient(), base).get_agent_card()  # public
    out["card"] = {
        "name": card.name,
        "interfaces": [[i.protocol_binding, i.protocol_version, i.url]
                       for i in card.supported_interfaces],
        "streaming": card.capabilities.streaming,
    }

    # A2A 1.0, the transport the SDK picks from the card.
    unary = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(card)
    first = await one_task(unary, request("hello over a2a"))
    out["v1_send"] = task_summary(first)
    follow = await one_task(unary, request("and again", context_id=first.context_id))
    out["v1_followup"] = task_summary(follow)
    out["v1_get"] = task_summary(await unary.get_task(GetTaskRequest(id=first.id)))
    out["v1_get_missing"] = await error_of(unary.get_task(GetTaskRequest(id="ex-nope")))
    streaming = ClientFactory(ClientConfig(httpx_client=http, streaming=True)).create(card)
    out["v1_stream"] = await streamed(streaming, request("stream this please"))

    await slow(fake_llm, 5000)
    pending = await one_task(unary, request("a slow one", return_immediately=True))
    out["v1_pending"] = task_summary(pending)
    out["v1_cancel"] = task_summary(await unary.cancel_task(CancelTaskRequest(id=pending.id)))
    out["v1_cancel_again"] = await error_of(unary.cancel_task(CancelTaskRequest(id=pending.id)))
    await slow(fake_llm, 0)

    # A2A 0.3, spoken by the SDK's compat transport to the same endpoint.
    t03 = CompatJsonRpcTransport(http, card, card.supported_interfaces[0].url)
    resp = await t03.send_message(request("hello over a2a 0.3"))
    out["v03_send"] = task_summary(resp.task)
    out["v03_get"] = task_summary(await t03.get_task(GetTaskRequest(id=resp.task.id)))
    out["v03_cancel_done"] = await error_of(t03.cancel_task(CancelTaskRequest(id=resp.task.id)))
    events, chunks = [], []
    async for ev in t03.send_message_streaming(request("stream over 0.3")):
        kind = ev.WhichOneof("payload")
        events.append(kind)
        if kind == "artifact_update":
            chunks.append(text_of(ev.artifact_update.artifact.parts))
    out["v03_stream"] = {"events": events, "answer": "".join(chunks)}
    await http.aclose()
    print(json.dumps(out))


if __name__ == "__main__":
    try:
        asyncio.run(main(*sys.argv[1:4]))
    except Exception as e:  # noqa: BLE001 - the test reads stderr
        import traceback

        traceback.print_exc()
        print(f"a2a sdk client error: {e!r}", file=sys.stderr)
        sys.exit(1)
