#!/usr/bin/python3
"""Writes KMIP golden vectors encoded by PyKMIP (Debian python3-pykmip).

Usage: /usr/bin/python3 tests/kat/kmip/gen_pykmip_vectors.py > tests/kat/kmip/pykmip_vectors.txt

Each line is `<name> <version> <request|response> <hex>`: request and
response messages of the operations api/kmip supports, at KMIP 1.2, 1.4 and
2.0, with fixed identifiers, key bytes and time stamps so the output is the
same on every run. golden_test.cc decodes every vector, re-encodes it to the
same bytes, checks what the parser reads from each request, and builds the
responses itself to compare bytes with PyKMIP's.
"""

import sys

from kmip.core import attributes, enums, misc, objects, primitives, utils
from kmip.core.factories.attributes import AttributeFactory
from kmip.core.messages import contents, messages, payloads
from kmip.pie import factory as pie_factory
from kmip.pie import objects as pie_objects

V = {
    "1.2": enums.KMIPVersion.KMIP_1_2,
    "1.4": enums.KMIPVersion.KMIP_1_4,
    "2.0": enums.KMIPVersion.KMIP_2_0,
}
MAJOR_MINOR = {"1.2": (1, 2), "1.4": (1, 4), "2.0": (2, 0)}
TIME_STAMP = 1767225600  # 2026-01-01T00:00:00Z, FakeClock's default start
AF = AttributeFactory()
OF = pie_factory.ObjectFactory()
AES_KEY = bytes(range(32))
# Not a key: fixed bytes standing in for a PKCS#8 blob, which the codec
# carries without parsing.
RSA_PKCS8 = bytes(range(64)) * 4


def attr(kind, value):
    return AF.create_attribute(kind, value)


def name_attr(text):
    return attr(enums.AttributeType.NAME,
                attributes.Name.create(
                    text, enums.NameType.UNINTERPRETED_TEXT_STRING))


def aes_template(length):
    return objects.TemplateAttribute(attributes=[
        attr(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM,
             enums.CryptographicAlgorithm.AES),
        attr(enums.AttributeType.CRYPTOGRAPHIC_LENGTH, length),
        attr(enums.AttributeType.CRYPTOGRAPHIC_USAGE_MASK,
             [enums.CryptographicUsageMask.ENCRYPT,
              enums.CryptographicUsageMask.DECRYPT]),
        name_attr("golden-key"),
    ])


def request(version, items, max_size=None, cont=None):
    major, minor = MAJOR_MINOR[version]
    header = messages.RequestHeader(
        protocol_version=contents.ProtocolVersion(major, minor),
        maximum_response_size=(contents.MaximumResponseSize(max_size)
                               if max_size else None),
        batch_error_cont_option=(contents.BatchErrorContinuationOption(cont)
                                 if cont else None),
        batch_count=contents.BatchCount(len(items)))
    batch = []
    for i, (op, payload) in enumerate(items):
        batch.append(messages.RequestBatchItem(
            operation=contents.Operation(op),
            unique_batch_item_id=(contents.UniqueBatchItemID(bytes([i + 1]))
                                  if len(items) > 1 else None),
            request_payload=payload))
    msg = messages.RequestMessage(request_header=header, batch_items=batch)
    out = utils.BytearrayStream()
    msg.write(out, kmip_version=V[version])
    return out.buffer


def response(version, op, payload=None, status=enums.ResultStatus.SUCCESS,
             reason=None, message=None):
    major, minor = MAJOR_MINOR[version]
    header = messages.ResponseHeader(
        protocol_version=contents.ProtocolVersion(major, minor),
        time_stamp=contents.TimeStamp(TIME_STAMP),
        batch_count=contents.BatchCount(1))
    item = messages.ResponseBatchItem(
        operation=contents.Operation(op) if op else None,
        result_status=contents.ResultStatus(status),
        result_reason=contents.ResultReason(reason) if reason else None,
        result_message=contents.ResultMessage(message) if message else None,
        response_payload=payload)
    msg = messages.ResponseMessage(response_header=header, batch_items=[item])
    out = utils.BytearrayStream()
    msg.write(out, kmip_version=V[version])
    return out.buffer


def emit(name, version, kind, data):
    print(f"{name} {version} {kind} {bytes(data).hex()}")


def main():
    Op = enums.Operation
    for v in ("1.2", "1.4", "2.0"):
        emit("discover_versions", v, "request", request(v, [
            (Op.DISCOVER_VERSIONS, payloads.DiscoverVersionsRequestPayload(
                [contents.ProtocolVersion(2, 0), contents.ProtocolVersion(1, 4),
                 contents.ProtocolVersion(1, 2)]))]))
        emit("create_aes256", v, "request", request(v, [
            (Op.CREATE, payloads.CreateRequestPayload(
                object_type=enums.ObjectType.SYMMETRIC_KEY,
                template_attribute=aes_template(256)))], max_size=1 << 16))
        emit("get", v, "request", request(v, [
            (Op.GET, payloads.GetRequestPayload(unique_identifier="42"))]))
        emit("get_attributes", v, "request", request(v, [
            (Op.GET_ATTRIBUTES, payloads.GetAttributesRequestPayload(
                unique_identifier="42",
                attribute_names=["Cryptographic Algorithm", "State", "Name"]))]))
        emit("locate_by_name", v, "request", request(v, [
            (Op.LOCATE, payloads.LocateRequestPayload(
                maximum_items=5,
                attributes=[name_attr("golden-key"),
                            attr(enums.AttributeType.OBJECT_TYPE,
                                 enums.ObjectType.SYMMETRIC_KEY)]))]))
        emit("register_aes128", v, "request", request(v, [
            (Op.REGISTER, payloads.RegisterRequestPayload(
                object_type=enums.ObjectType.SYMMETRIC_KEY,
                template_attribute=objects.TemplateAttribute(attributes=[
                    attr(enums.AttributeType.CRYPTOGRAPHIC_USAGE_MASK,
                         [enums.CryptographicUsageMask.ENCRYPT])]),
                managed_object=OF.convert(pie_objects.SymmetricKey(
                    enums.CryptographicAlgorithm.AES, 128, AES_KEY[:16]))))]))
        emit("encrypt_gcm", v, "request", request(v, [
            (Op.ENCRYPT, payloads.EncryptRequestPayload(
                unique_identifier="42",
                cryptographic_parameters=attributes.CryptographicParameters(
                    block_cipher_mode=enums.BlockCipherMode.GCM,
                    tag_length=16),
                data=b"thirty-two bytes of plaintext!!!",
                iv_counter_nonce=bytes(12),
                auth_additional_data=b"aad"))]))
        emit("activate_revoke_destroy", v, "request", request(v, [
            (Op.ACTIVATE, payloads.ActivateRequestPayload(
                unique_identifier=attributes.UniqueIdentifier("42"))),
            (Op.REVOKE, payloads.RevokeRequestPayload(
                unique_identifier=attributes.UniqueIdentifier("42"),
                revocation_reason=objects.RevocationReason(
                    code=enums.RevocationReasonCode.CESSATION_OF_OPERATION))),
            (Op.DESTROY, payloads.DestroyRequestPayload(
                unique_identifier=attributes.UniqueIdentifier("42"))),
        ], cont=enums.BatchErrorContinuationOption.CONTINUE))

        emit("create_key_pair_rsa2048", v, "request", request(v, [
            (Op.CREATE_KEY_PAIR, payloads.CreateKeyPairRequestPayload(
                common_template_attribute=objects.TemplateAttribute(
                    attributes=[
                        attr(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM,
                             enums.CryptographicAlgorithm.RSA),
                        attr(enums.AttributeType.CRYPTOGRAPHIC_LENGTH, 2048)],
                    tag=enums.Tags.COMMON_TEMPLATE_ATTRIBUTE),
                private_key_template_attribute=objects.TemplateAttribute(
                    attributes=[
                        name_attr("golden-private"),
                        attr(enums.AttributeType.CRYPTOGRAPHIC_USAGE_MASK,
                             [enums.CryptographicUsageMask.SIGN])],
                    tag=enums.Tags.PRIVATE_KEY_TEMPLATE_ATTRIBUTE),
                public_key_template_attribute=objects.TemplateAttribute(
                    attributes=[
                        attr(enums.AttributeType.CRYPTOGRAPHIC_USAGE_MASK,
                             [enums.CryptographicUsageMask.VERIFY])],
                    tag=enums.Tags.PUBLIC_KEY_TEMPLATE_ATTRIBUTE)))]))
        emit("register_rsa_private_pkcs8", v, "request", request(v, [
            (Op.REGISTER, payloads.RegisterRequestPayload(
                object_type=enums.ObjectType.PRIVATE_KEY,
                template_attribute=objects.TemplateAttribute(attributes=[]),
                managed_object=OF.convert(pie_objects.PrivateKey(
                    enums.CryptographicAlgorithm.RSA, 2048, RSA_PKCS8,
                    enums.KeyFormatType.PKCS_8))))]))
        emit("sign_pss", v, "request", request(v, [
            (Op.SIGN, payloads.SignRequestPayload(
                unique_identifier="p1",
                cryptographic_parameters=attributes.CryptographicParameters(
                    padding_method=enums.PaddingMethod.PSS,
                    hashing_algorithm=enums.HashingAlgorithm.SHA_256,
                    cryptographic_algorithm=enums.CryptographicAlgorithm.RSA),
                data=b"message to sign"))]))
        emit("signature_verify", v, "request", request(v, [
            (Op.SIGNATURE_VERIFY, payloads.SignatureVerifyRequestPayload(
                unique_identifier="p2",
                cryptographic_parameters=attributes.CryptographicParameters(
                    digital_signature_algorithm=enums.DigitalSignatureAlgorithm
                    .SHA256_WITH_RSA_ENCRYPTION),
                data=b"message to sign", signature_data=b"\x05" * 256))]))
        emit("mac_hmac_sha256", v, "request", request(v, [
            (Op.MAC, payloads.MACRequestPayload(
                unique_identifier=attributes.UniqueIdentifier("42"),
                cryptographic_parameters=attributes.CryptographicParameters(
                    cryptographic_algorithm=enums.CryptographicAlgorithm
                    .HMAC_SHA256),
                data=objects.Data(b"mac me")))]))
        emit("decrypt_cbc", v, "request", request(v, [
            (Op.DECRYPT, payloads.DecryptRequestPayload(
                unique_identifier="42",
                cryptographic_parameters=attributes.CryptographicParameters(
                    block_cipher_mode=enums.BlockCipherMode.CBC,
                    padding_method=enums.PaddingMethod.PKCS5),
                data=b"\x03" * 32, iv_counter_nonce=b"\x04" * 16))]))
        emit("get_attribute_list", v, "request", request(v, [
            (Op.GET_ATTRIBUTE_LIST, payloads.GetAttributeListRequestPayload(
                unique_identifier="42"))]))

        emit("create_key_pair", v, "response", response(
            v, Op.CREATE_KEY_PAIR, payloads.CreateKeyPairResponsePayload(
                private_key_unique_identifier="p1",
                public_key_unique_identifier="p2")))
        emit("sign", v, "response", response(v, Op.SIGN,
             payloads.SignResponsePayload(unique_identifier="p1",
                                          signature_data=b"\x05" * 256)))
        emit("signature_verify", v, "response", response(
            v, Op.SIGNATURE_VERIFY, payloads.SignatureVerifyResponsePayload(
                unique_identifier="p2",
                validity_indicator=enums.ValidityIndicator.VALID)))
        emit("mac", v, "response", response(v, Op.MAC,
             payloads.MACResponsePayload(
                 unique_identifier=attributes.UniqueIdentifier("42"),
                 mac_data=objects.MACData(b"\x06" * 32))))
        emit("decrypt", v, "response", response(v, Op.DECRYPT,
             payloads.DecryptResponsePayload(unique_identifier="42",
                                             data=b"plain text")))
        emit("get_attributes", v, "response", response(
            v, Op.GET_ATTRIBUTES, payloads.GetAttributesResponsePayload(
                unique_identifier="42", attributes=[
                    attr(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM,
                         enums.CryptographicAlgorithm.AES),
                    attr(enums.AttributeType.CRYPTOGRAPHIC_LENGTH, 256),
                    attr(enums.AttributeType.STATE, enums.State.ACTIVE)])))
        emit("get_attribute_list", v, "response", response(
            v, Op.GET_ATTRIBUTE_LIST, payloads.GetAttributeListResponsePayload(
                unique_identifier="42",
                attribute_names=["Cryptographic Algorithm", "State"])))
        emit("create", v, "response", response(v, Op.CREATE,
             payloads.CreateResponsePayload(
                 object_type=enums.ObjectType.SYMMETRIC_KEY,
                 unique_identifier="42")))
        emit("get_raw_aes256", v, "response", response(v, Op.GET,
             payloads.GetResponsePayload(
                 object_type=enums.ObjectType.SYMMETRIC_KEY,
                 unique_identifier="42",
                 secret=OF.convert(pie_objects.SymmetricKey(
                     enums.CryptographicAlgorithm.AES, 256, AES_KEY)))))
        emit("locate", v, "response", response(v, Op.LOCATE,
             payloads.LocateResponsePayload(unique_identifiers=["42", "43"])))
        emit("encrypt", v, "response", response(v, Op.ENCRYPT,
             payloads.EncryptResponsePayload(
                 unique_identifier="42", data=b"\x01" * 32,
                 auth_tag=b"\x02" * 16)))
        emit("item_not_found", v, "response", response(
            v, Op.GET, status=enums.ResultStatus.OPERATION_FAILED,
            reason=enums.ResultReason.ITEM_NOT_FOUND,
            message="no such object"))


if __name__ == "__main__":
    sys.exit(main())
