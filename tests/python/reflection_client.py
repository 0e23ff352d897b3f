"""A generic gRPC client that knows nothing of OpenHMIS but what server reflection tells it.

Checks, against a running `openhmis demo`: health reports SERVING, reflection lists the
services, a call without a token is refused, the demo administrator signs in, a facility can be
created and read back, bad input gets INVALID_ARGUMENT naming the field, and grpc-web works.
Usage: python3 reflection_client.py HOST:PORT [PASSWORD]
"""

import struct
import sys
import time
import urllib.request
import uuid

import grpc
from google.protobuf import descriptor_pool, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


def wait_until_serving(channel, pool, deadline_s=120):
    health = pool.FindServiceByName("grpc.health.v1.Health")
    check = stub(channel, health, "Check")
    request_class = message_class(health.FindMethodByName("Check").input_type)
    started = time.monotonic()
    while True:
        try:
            status = check(request_class(service=""), timeout=5).status
            if status == 1:  # SERVING
                return
        except grpc.RpcError:
            pass
        if time.monotonic() - started > deadline_s:
            raise SystemExit("server did not report SERVING")
        time.sleep(0.5)


def message_class(descriptor):
    return message_factory.GetMessageClass(descriptor)


def stub(channel, service, method_name):
    method = service.FindMethodByName(method_name)
    return channel.unary_unary(
        f"/{service.full_name}/{method.name}",
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=message_class(method.output_type).FromString,
    )


def grpc_web_call(target, path, request_bytes, token=None):
    """One unary call the way a browser makes it: HTTP/1.1 POST, grpc-web framing."""
    body = b"\x00" + struct.pack(">I", len(request_bytes)) + request_bytes
    http_request = urllib.request.Request(
        f"http://{target}{path}",
        data=body,
        method="POST",
        headers={
            "content-type": "application/grpc-web+proto",
            "x-grpc-web": "1",
            "origin": "http://registration.example",
            **({"authorization": f"Bearer {token}"} if token else {}),
        },
    )
    with urllib.request.urlopen(http_request, timeout=10) as response:
        assert response.headers["access-control-allow-origin"], "no CORS header on grpc-web"
        exposed = response.headers.get("access-control-expose-headers", "").lower()
        assert "grpc-status" in exposed and "grpc-message" in exposed, exposed
        headers = {key.lower(): value for key, value in response.headers.items()}
        payload = response.read()
    frames = {}
    while payload:
        flag, length = payload[0], struct.unpack(">I", payload[1:5])[0]
        frames[flag] = payload[5 : 5 + length]
        payload = payload[5 + length :]
    trailers = dict(
        line.split(":", 1) for line in frames.get(0x80, b"").decode().strip().split("\r\n") if line
    )
    status = {key.strip().lower(): value.strip() for key, value in trailers.items()}
    # An error with no message is "trailers-only": its status travels in the headers.
    for key in ("grpc-status", "grpc-message"):
        if key in headers:
            status.setdefault(key, headers[key])
    return frames.get(0x00), status


def check_cors_preflight(target):
    preflight = urllib.request.Request(
        f"http://{target}/grpc.health.v1.Health/Check",
        method="OPTIONS",
        headers={
            "origin": "http://registration.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,x-grpc-web,x-request-id",
        },
    )
    with urllib.request.urlopen(preflight, timeout=10) as response:
        exposed = response.headers.get("access-control-expose-headers", "").lower()
        allowed = response.headers.get("access-control-allow-origin")
    assert allowed, "preflight did not allow the origin"
    # Browsers can read gRPC errors only if these are exposed (checked on real responses).
    return exposed


def main():
    target = sys.argv[1]
    channel = grpc.insecure_channel(target)
    grpc.channel_ready_future(channel).result(timeout=120)
    reflection_db = ProtoReflectionDescriptorDatabase(channel)
    services = reflection_db.get_services()
    for expected in (
        "openhmis.core.v1.FacilityService",
        "openhmis.core.v1.TenantService",
        "openhmis.terminology.v1.TerminologyService",
        "openhmis.encounters.v1.EncounterService",
        "openhmis.inventory.v1.InventoryService",
        "grpc.health.v1.Health",
    ):
        assert expected in services, f"{expected} not in {services}"
    pool = descriptor_pool.DescriptorPool(reflection_db)
    wait_until_serving(channel, pool)

    auth = pool.FindServiceByName("openhmis.iam.v1.AuthService")
    login_request = message_class(auth.FindMethodByName("Login").input_type)
    request = login_request(tenant_code="")  # the standalone hospital: the default tenant
    request.password.username = "admin"
    request.password.password = sys.argv[2] if len(sys.argv) > 2 else "Demo-Hospital-2026"
    token = stub(channel, auth, "Login")(request, timeout=30).tokens.access_token
    assert token.count(".") == 2, "access token is a JWT"
    metadata = (("authorization", f"Bearer {token}"),)

    facilities = pool.FindServiceByName("openhmis.core.v1.FacilityService")
    list_request = message_class(facilities.FindMethodByName("ListFacilities").input_type)
    try:
        stub(channel, facilities, "ListFacilities")(list_request(), timeout=10)
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED, error
    else:
        raise AssertionError("a call without a token was served")

    def signed(rpc):
        return lambda message, timeout: rpc(message, timeout=timeout, metadata=metadata)

    create = signed(stub(channel, facilities, "CreateFacility"))
    get = signed(stub(channel, facilities, "GetFacility"))
    create_request = message_class(facilities.FindMethodByName("CreateFacility").input_type)
    get_request = message_class(facilities.FindMethodByName("GetFacility").input_type)

    code = "PY-" + uuid.uuid4().hex[:8].upper()
    request = create_request(request_id=str(uuid.uuid4()))
    request.facility.code = code
    request.facility.name = "Clinic created by a generic client"
    request.facility.time_zone = "Asia/Tehran"
    created = create(request, timeout=10).facility
    assert created.id and created.etag, created
    read = get(get_request(id=created.id), timeout=10).facility
    assert read.code == code and read.time_zone == "Asia/Tehran", read

    bad = create_request(request_id=str(uuid.uuid4()))
    bad.facility.code = code + "-2"
    bad.facility.name = "Bad time zone"
    bad.facility.time_zone = "Nowhere/Special"
    try:
        create(bad, timeout=10)
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
        assert "facility.time_zone" in error.details(), error.details()
    else:
        raise AssertionError("a bad time zone was accepted")
    # The demo's ICD-10 starter set, searched by words as a diagnosis picker does.
    codes = pool.FindServiceByName("openhmis.terminology.v1.TerminologyService")
    search_request = message_class(codes.FindMethodByName("SearchConcepts").input_type)
    found = signed(stub(channel, codes, "SearchConcepts"))(
        search_request(system="icd10", query="lobar pneumonia", selectable_only=True), timeout=10
    ).concepts
    assert [concept.code for concept in found] == ["J18.1"], found

    health = pool.FindServiceByName("grpc.health.v1.Health")
    check_request = message_class(health.FindMethodByName("Check").input_type)
    check_response = message_class(health.FindMethodByName("Check").output_type)
    check_cors_preflight(target)
    data, trailers = grpc_web_call(
        target, "/grpc.health.v1.Health/Check", check_request(service="").SerializeToString()
    )
    assert trailers.get("grpc-status") == "0", trailers
    assert check_response.FromString(data).status == 1, data

    get_bytes = get_request(id="not-a-uuid").SerializeToString()
    _, trailers = grpc_web_call(
        target, "/openhmis.core.v1.FacilityService/GetFacility", get_bytes, token
    )
    assert trailers.get("grpc-status") == "3", trailers  # INVALID_ARGUMENT, readable by a browser
    print(f"reflection client: 8 passed, 0 failed (facility {created.id})")


if __name__ == "__main__":
    main()
