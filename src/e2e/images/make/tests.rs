use super::*;

#[test]
fn identities_change_with_content_and_mode() {
    let a = Content::data("etc/x", 0o644, "a").identity().unwrap();
    let b = Content::data("etc/x", 0o644, "b").identity().unwrap();
    let c = Content::data("etc/x", 0o600, "a").identity().unwrap();
    assert_ne!(a, b);
    assert_ne!(a, c);
}
