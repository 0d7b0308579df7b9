//! Decoding of the wire types: lossless ids, null as absent, unknown values kept.

use ilink_client::wire::{
    GetUpdatesRequest, ItemType, MessageState, MessageType, QrStatus, WeixinMessage, WireId,
};
use ilink_client::{decode_updates_body, ErrorKind};
use serde_json::json;

#[test]
fn max_u64_message_id_decodes_exactly_as_number_and_as_string() {
    let bare = r#"{"message_id": 18446744073709551615}"#;
    let quoted = r#"{"message_id": "18446744073709551615"}"#;
    for text in [bare, quoted] {
        let msg: WeixinMessage = serde_json::from_str(text).unwrap();
        assert_eq!(msg.message_id, Some(WireId(u64::MAX)), "{text}");
    }
    // And it goes out again without loss.
    let msg: WeixinMessage = serde_json::from_str(bare).unwrap();
    assert_eq!(
        serde_json::to_string(&msg).unwrap(),
        r#"{"message_id":18446744073709551615}"#
    );
}

#[test]
fn ids_above_2_pow_53_survive_in_every_id_field() {
    let text = r#"{"message_id": 9007199254740993, "item_list": [{"msg_id": 9007199254740995,
        "ref_msg": {"svr_id": "9007199254740997"}}]}"#;
    let msg: WeixinMessage = serde_json::from_str(text).unwrap();
    assert_eq!(msg.message_id, Some(WireId(9_007_199_254_740_993)));
    assert_eq!(msg.item_list[0].msg_id, Some(WireId(9_007_199_254_740_995)));
    let r = msg.item_list[0].ref_msg.as_ref().unwrap();
    assert_eq!(r.svr_id, Some(WireId(9_007_199_254_740_997)));
}

#[test]
fn bad_ids_are_decode_errors() {
    for bad in [
        "-1",
        "18446744073709551616",
        "1.5",
        r#""12a""#,
        r#""""#,
        r#""-3""#,
        "true",
    ] {
        let text = format!(r#"{{"message_id": {bad}}}"#);
        assert!(
            serde_json::from_str::<WeixinMessage>(&text).is_err(),
            "{bad} should not decode"
        );
    }
}

#[test]
fn text_that_looks_like_an_id_is_left_alone() {
    let msg: WeixinMessage = serde_json::from_str(
        r#"{"item_list":[{"type":1,"text_item":{"text":"18446744073709551615"}}]}"#,
    )
    .unwrap();
    let text = msg.item_list[0].text_item.as_ref().unwrap().text.as_deref();
    assert_eq!(text, Some("18446744073709551615"));
}

#[test]
fn null_means_absent_everywhere() {
    // The ilink-sdk sends null for every unset field.
    let msg: WeixinMessage = serde_json::from_value(json!({
        "seq": null, "message_id": null, "from_user_id": "", "to_user_id": "u@im.wechat",
        "client_id": "c", "create_time_ms": null, "item_list": [{
            "type": 1, "text_item": {"text": "hi"}, "image_item": null, "voice_item": null,
            "file_item": null, "video_item": null, "ref_msg": null, "msg_id": null
        }], "context_token": null, "run_id": null, "group_id": null
    }))
    .unwrap();
    assert_eq!(msg.message_id, None);
    assert_eq!(msg.item_list.len(), 1);
    assert!(msg.item_list[0].image_item.is_none());
    let absent: WeixinMessage = serde_json::from_value(json!({"item_list": null})).unwrap();
    assert!(absent.item_list.is_empty());
    let req: GetUpdatesRequest = serde_json::from_value(json!({
        "get_updates_buf": null,
        "base_info": {"channel_version": "2.4.11", "bot_agent": "OpenClaw"}
    }))
    .unwrap();
    assert_eq!(req.get_updates_buf, "");
}

#[test]
fn unset_fields_are_never_sent() {
    let msg: WeixinMessage = serde_json::from_value(json!({"to_user_id": "u"})).unwrap();
    assert_eq!(
        serde_json::to_string(&msg).unwrap(),
        r#"{"to_user_id":"u"}"#
    );
}

#[test]
fn unknown_fields_are_ignored_and_unknown_enum_values_kept() {
    let msg: WeixinMessage = serde_json::from_value(json!({
        "message_type": 7, "message_state": 9, "brand_new_field": {"x": 1},
        "item_list": [{"type": 99, "future_item": {}}]
    }))
    .unwrap();
    assert_eq!(msg.message_type, Some(MessageType::Unknown(7)));
    assert_eq!(msg.message_state, Some(MessageState::Unknown(9)));
    assert_eq!(msg.item_list[0].item_type, Some(ItemType::Unknown(99)));
    // Unknown values go out again as they came.
    let back = serde_json::to_value(&msg).unwrap();
    assert_eq!(back["message_type"], 7);
    assert_eq!(back["item_list"][0]["type"], 99);
    let status: QrStatus = serde_json::from_value(json!("teleported")).unwrap();
    assert_eq!(status, QrStatus::Unknown("teleported".into()));
}

#[test]
fn known_enum_values_round_trip() {
    for (n, t) in [
        (0, ItemType::None),
        (1, ItemType::Text),
        (2, ItemType::Image),
        (3, ItemType::Voice),
        (4, ItemType::File),
        (5, ItemType::Video),
        (11, ItemType::ToolCallStart),
        (12, ItemType::ToolCallResult),
    ] {
        assert_eq!(serde_json::from_value::<ItemType>(json!(n)).unwrap(), t);
        assert_eq!(serde_json::to_value(t).unwrap(), json!(n));
    }
}

#[test]
fn one_bad_message_is_skipped_and_the_rest_and_cursor_kept() {
    let body = json!({
        "ret": 0,
        "msgs": [
            {"message_id": 1, "item_list": [{"type": 1, "text_item": {"text": "a"}}]},
            {"message_id": -5},
            {"message_id": "2"}
        ],
        "get_updates_buf": "cursor-2",
        "longpolling_timeout_ms": 30000
    });
    let reply = decode_updates_body(body.to_string().as_bytes()).unwrap();
    assert_eq!(reply.msgs.len(), 2);
    assert_eq!(reply.msgs[1].message_id, Some(WireId(2)));
    assert_eq!(reply.bad_messages.len(), 1);
    assert_eq!(reply.bad_messages[0].index, 1);
    assert!(
        reply.bad_messages[0].error.contains("negative"),
        "{:?}",
        reply.bad_messages
    );
    assert_eq!(reply.get_updates_buf.as_deref(), Some("cursor-2"));
    assert_eq!(reply.longpolling_timeout_ms, Some(30000));
}

#[test]
fn a_null_ret_is_not_an_error_and_an_empty_cursor_is_no_cursor() {
    let reply =
        decode_updates_body(br#"{"ret": null, "msgs": null, "get_updates_buf": ""}"#).unwrap();
    assert!(reply.msgs.is_empty());
    assert_eq!(reply.get_updates_buf, None);
}

#[test]
fn stale_token_in_errcode_or_ret() {
    for body in [
        r#"{"ret": -14}"#,
        r#"{"ret": 0, "errcode": -14}"#,
        r#"{"errcode": -14, "errmsg": "session timeout"}"#,
    ] {
        let err = decode_updates_body(body.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::StaleToken, "{body}");
        assert!(err.is_stale_token());
    }
}

#[test]
fn decode_errors_never_quote_the_body() {
    let err = decode_updates_body(br#"{"ret": 0, "get_updates_buf": 12345678901234}"#).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Decode(_)));
    assert!(!err.to_string().contains("12345678901234"), "{err}");
}

#[test]
fn public_wire_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<WeixinMessage>();
    check::<ilink_client::IlinkClient>();
    check::<ilink_client::Error>();
    check::<ilink_client::GetUpdatesResponse>();
    check::<ilink_client::LoginFlow>();
    check::<ilink_client::UploadedMedia>();
    check::<ilink_client::crypto::AesKey>();
}

mod roundtrip {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_u64_id_round_trips_as_number_and_string(id in any::<u64>()) {
            let n: WeixinMessage = serde_json::from_str(&format!(r#"{{"message_id":{id}}}"#)).unwrap();
            let s: WeixinMessage = serde_json::from_str(&format!(r#"{{"message_id":"{id}"}}"#)).unwrap();
            prop_assert_eq!(n.message_id, Some(WireId(id)));
            prop_assert_eq!(s.message_id, Some(WireId(id)));
            let back: WeixinMessage = serde_json::from_str(&serde_json::to_string(&n).unwrap()).unwrap();
            prop_assert_eq!(back, n);
        }
    }
}
