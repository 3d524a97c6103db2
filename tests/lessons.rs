//! Every lesson performed for real on loopback, headless: what each application saw (the errno of
//! each call) must be what the lesson teaches.

use tcpladder::lessons::{all, missing_expectations, port_of};

#[test]
fn every_lesson_makes_the_kernel_return_what_it_teaches() {
    let _ports = crate::util::lesson_ports();
    let mut failures = Vec::new();
    for lesson in all() {
        let outcome = lesson.run(port_of(lesson)).unwrap_or_else(|err| panic!("{}: {err}", lesson.id));
        let missing = missing_expectations(lesson, &outcome.events);
        if !missing.is_empty() {
            failures.push(format!("{}: missing {missing:?}; saw {:?}", lesson.id, outcome.events));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
