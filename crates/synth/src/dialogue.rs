//! A built-in dialogue grammar: multi-turn conversations in everyday and professional
//! scenes (as in the SCOPE dataset), with English text for every turn, and HOMONYMS —
//! glosses that share one motion prototype — so that the gloss cannot always be read off
//! the motion and the earlier turns' text measurably helps.
//!
//! A topic's script is a sequence of *moves*; each move is one of several *exchanges*
//! (one or more turns). Slots (`{ITEM}`) are bound once per dialogue, so later turns
//! refer back to what was said before.

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use rand::seq::IndexedRandom;

use crate::seed::rng_for;

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub role: &'static str,
    pub glosses: Vec<String>,
    pub text: String,
}

/// A whole conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialogue {
    /// e.g. "dentist-00042"
    pub id: String,
    pub topic: &'static str,
    pub roles: [&'static str; 2],
    pub turns: Vec<Turn>,
}

/// `(role index, glosses, text)` of one turn template.
type TurnTemplate = (usize, &'static str, &'static str);
/// Alternative exchanges of one move.
type Move = &'static [&'static [TurnTemplate]];

struct Topic {
    name: &'static str,
    roles: [&'static str; 2],
    slots: &'static [(&'static str, &'static [(&'static str, &'static str)])],
    /// Moves in order; each is a list of alternative exchanges; an exchange is a list of
    /// `(role index, glosses, text)` turns. A move whose first alternative is empty is optional.
    script: &'static [Move],
}

/// Homonyms: glosses that are signed with the SAME motion. Which one is meant follows
/// from the scene (topic) or from the question in the previous turn.
pub const HOMONYMS: &[(&str, &[&str])] = &[
    ("H-TOOTH", &["TOOTH", "BRUSH"]),
    ("H-CARD", &["CARD", "TICKET", "MENU"]),
    ("H-CHECK", &["CHECK-UP", "EXAM", "CHEQUE"]),
    ("H-PAY", &["PAY", "DEPOSIT"]),
    ("H-BOOK", &["BOOK", "PASSPORT"]),
    ("H-FILL", &["FILLING", "MEDICINE", "SAUCE"]),
    ("H-APPOINT", &["APPOINTMENT", "LESSON", "RESERVATION"]),
    ("H-OPEN", &["OPEN-MOUTH", "OPEN-ACCOUNT", "OPEN-BOOK"]),
    ("H-ROOM", &["ROOM", "CLASSROOM", "OFFICE", "WAITING-ROOM"]),
    ("H-TRAIN", &["TRAIN", "PRACTICE"]),
    ("H-WATER", &["WATER", "RINSE"]),
    ("H-BIG", &["BIG", "MANY"]),
    ("H-SMALL", &["SMALL", "FEW"]),
    ("H-2", &["TWO", "TWO-OCLOCK"]),
    ("H-5", &["FIVE", "FIVE-OCLOCK"]),
    ("H-9", &["NINE", "NINE-OCLOCK"]),
    ("H-10", &["TEN", "TEN-OCLOCK"]),
];

/// The motion key a gloss is signed with: its homonym group, or the gloss itself.
pub fn motion_key(gloss: &str) -> &str {
    HOMONYMS
        .iter()
        .find(|(_, glosses)| glosses.contains(&gloss))
        .map(|(key, _)| *key)
        .unwrap_or(gloss)
}

const DAY: &[(&str, &str)] = &[
    ("MONDAY", "Monday"),
    ("TUESDAY", "Tuesday"),
    ("WEDNESDAY", "Wednesday"),
    ("THURSDAY", "Thursday"),
    ("FRIDAY", "Friday"),
];
const HOUR: &[(&str, &str)] = &[
    ("NINE-OCLOCK", "nine o'clock"),
    ("TEN-OCLOCK", "ten o'clock"),
    ("TWO-OCLOCK", "two o'clock"),
    ("FIVE-OCLOCK", "five o'clock"),
];
const NUM: &[(&str, &str)] = &[
    ("TWO", "two"),
    ("FIVE", "five"),
    ("NINE", "nine"),
    ("TEN", "ten"),
];
const DURATION: &[(&str, &str)] = &[
    ("TWO DAY", "two days"),
    ("THREE DAY", "three days"),
    ("ONE WEEK", "a week"),
    ("SINCE YESTERDAY", "since yesterday"),
];
const AMOUNT: &[(&str, &str)] = &[
    ("TEN EURO", "ten euros"),
    ("FIFTY EURO", "fifty euros"),
    ("HUNDRED EURO", "a hundred euros"),
    ("FIVE EURO", "five euros"),
];

/// An optional move every topic has: short turns about a topic-specific `{THING}` whose
/// other glosses are the same in every topic, so that only the context tells which of
/// the homonyms `{THING}` is.
const THING_MOVE: Move = &[
    &[],
    &[
        (0, "WHERE {THING}", "Where is the {THING}?"),
        (1, "{THING} THERE", "The {THING} is over there."),
    ],
    &[
        (0, "{THING} READY QUESTION", "Is the {THING} ready?"),
        (1, "YES {THING} READY", "Yes, the {THING} is ready."),
    ],
    &[(1, "{THING} FINISH", "The {THING} is done.")],
];

const TOPICS: &[Topic] = &[
    Topic {
        name: "dentist",
        roles: ["patient", "dentist"],
        slots: &[
            (
                "THING",
                &[
                    ("FILLING", "filling"),
                    ("TOOTH", "tooth"),
                    ("RINSE", "rinse"),
                ],
            ),
            ("SIDE", &[("LEFT", "left"), ("RIGHT", "right")]),
            ("DURATION", DURATION),
            ("DAY", DAY),
            ("HOUR", HOUR),
        ],
        script: &[
            &[
                &[(
                    0,
                    "HELLO I APPOINTMENT DENTIST",
                    "Hello, I have an appointment with the dentist.",
                )],
                &[(0, "HELLO MY TOOTH HURT", "Hello, my tooth hurts.")],
                &[(
                    0,
                    "GOOD MORNING I COME CHECK-UP",
                    "Good morning, I am here for a check-up.",
                )],
            ],
            &[
                &[(
                    1,
                    "SIT PLEASE OPEN-MOUTH",
                    "Please sit down and open your mouth.",
                )],
                &[(1, "WHERE HURT", "Where does it hurt?")],
                &[(1, "SINCE WHEN PAIN", "How long have you had the pain?")],
            ],
            &[
                &[(
                    0,
                    "{SIDE} TOOTH HURT {DURATION}",
                    "My {SIDE} tooth has hurt for {DURATION}.",
                )],
                &[(
                    0,
                    "TOOTH {SIDE} PAIN",
                    "The tooth on the {SIDE} side hurts.",
                )],
                &[(0, "PAIN {DURATION}", "I have had the pain {DURATION}.")],
            ],
            &[
                &[(1, "I CHECK-UP TOOTH", "I will examine the tooth.")],
                &[(
                    1,
                    "TOOTH HOLE YOU NEED FILLING",
                    "There is a hole in the tooth, you need a filling.",
                )],
                &[(1, "OPEN-MOUTH WIDE PLEASE", "Open your mouth wide, please.")],
            ],
            &[
                &[],
                &[
                    (0, "FILLING HURT QUESTION", "Will the filling hurt?"),
                    (
                        1,
                        "NOT HURT I GIVE INJECTION",
                        "It won't hurt, I will give you an injection.",
                    ),
                ],
                &[
                    (0, "HOW-MUCH COST", "How much does it cost?"),
                    (1, "INSURANCE PAY", "Your insurance pays for it."),
                ],
            ],
            &[
                &[],
                &[(1, "RINSE WATER PLEASE", "Please rinse with water.")],
                &[(1, "FINISH TOOTH GOOD", "Done, the tooth is fine now.")],
            ],
            &[
                &[(
                    1,
                    "NEXT APPOINTMENT {DAY} {HOUR}",
                    "Your next appointment is on {DAY} at {HOUR}.",
                )],
                &[
                    (0, "NEXT APPOINTMENT WHEN", "When is my next appointment?"),
                    (1, "{DAY} {HOUR}", "On {DAY} at {HOUR}."),
                ],
            ],
            THING_MOVE,
            &[
                &[(0, "THANK-YOU BYE", "Thank you, goodbye.")],
                &[(0, "THANK-YOU", "Thank you.")],
            ],
        ],
    },
    Topic {
        name: "shopping",
        roles: ["customer", "clerk"],
        slots: &[
            (
                "THING",
                &[("BRUSH", "brush"), ("CARD", "card"), ("BAG", "bag")],
            ),
            (
                "ITEM",
                &[
                    ("APPLE", "apples"),
                    ("BREAD", "bread"),
                    ("SHOE", "shoes"),
                    ("SHIRT", "a shirt"),
                    ("BRUSH", "a brush"),
                    ("BAG", "a bag"),
                ],
            ),
            ("SIZE", &[("BIG", "big"), ("SMALL", "small")]),
            ("QTY", &[("MANY", "a lot"), ("FEW", "just a few")]),
            ("NUM", NUM),
            ("AMOUNT", AMOUNT),
        ],
        script: &[
            &[
                &[(
                    0,
                    "HELLO I WANT BUY {ITEM}",
                    "Hello, I would like to buy {ITEM}.",
                )],
                &[(
                    0,
                    "EXCUSE-ME {ITEM} WHERE",
                    "Excuse me, where can I find {ITEM}?",
                )],
                &[(0, "HELLO I NEED {ITEM}", "Hello, I need {ITEM}.")],
            ],
            &[
                &[
                    (1, "WHAT SIZE YOU WANT", "What size would you like?"),
                    (0, "{SIZE} PLEASE", "A {SIZE} one, please."),
                ],
                &[
                    (1, "HOW-MANY YOU WANT", "How many would you like?"),
                    (0, "{QTY} PLEASE", "{QTY}, please."),
                ],
                &[
                    (1, "HOW-MANY YOU WANT", "How many would you like?"),
                    (0, "{NUM} PLEASE", "{NUM}, please."),
                ],
            ],
            &[
                &[(1, "{ITEM} PRICE {AMOUNT}", "{ITEM} costs {AMOUNT}.")],
                &[
                    (0, "PRICE HOW-MUCH", "How much is it?"),
                    (1, "{AMOUNT}", "{AMOUNT}."),
                ],
            ],
            &[
                &[(0, "I PAY CARD", "I will pay by card.")],
                &[(0, "I PAY CASH", "I will pay in cash.")],
                &[
                    (
                        1,
                        "YOU PAY CARD OR CASH",
                        "Will you pay by card or in cash?",
                    ),
                    (0, "CARD", "By card."),
                ],
            ],
            &[
                &[],
                &[
                    (1, "YOU WANT BAG", "Do you want a bag?"),
                    (0, "NO THANK-YOU", "No, thank you."),
                ],
                &[
                    (1, "YOU WANT RECEIPT", "Would you like the receipt?"),
                    (0, "YES PLEASE", "Yes, please."),
                ],
            ],
            THING_MOVE,
            &[
                &[(0, "THANK-YOU BYE", "Thank you, goodbye.")],
                &[(1, "THANK-YOU BYE", "Thank you, goodbye.")],
            ],
        ],
    },
    Topic {
        name: "school",
        roles: ["student", "teacher"],
        slots: &[
            (
                "THING",
                &[
                    ("BOOK", "book"),
                    ("EXAM", "exam"),
                    ("CLASSROOM", "classroom"),
                    ("LESSON", "lesson"),
                ],
            ),
            (
                "SUBJECT",
                &[
                    ("MATH", "maths"),
                    ("HISTORY", "history"),
                    ("ENGLISH", "English"),
                    ("BIOLOGY", "biology"),
                ],
            ),
            ("DAY", DAY),
            ("HOUR", HOUR),
            ("NUM", NUM),
        ],
        script: &[
            &[
                &[
                    (0, "TEACHER I QUESTION", "Teacher, I have a question."),
                    (1, "YES WHAT", "Yes, what is it?"),
                ],
                &[
                    (
                        0,
                        "EXCUSE-ME LESSON {SUBJECT} WHEN",
                        "Excuse me, when is the {SUBJECT} lesson?",
                    ),
                    (
                        1,
                        "LESSON {DAY} {HOUR}",
                        "The lesson is on {DAY} at {HOUR}.",
                    ),
                ],
            ],
            &[
                &[
                    (0, "EXAM {SUBJECT} WHEN", "When is the {SUBJECT} exam?"),
                    (
                        1,
                        "EXAM {DAY} CLASSROOM {NUM}",
                        "The exam is on {DAY} in classroom {NUM}.",
                    ),
                ],
                &[
                    (
                        0,
                        "I NOT UNDERSTAND HOMEWORK",
                        "I don't understand the homework.",
                    ),
                    (1, "OPEN-BOOK PAGE {NUM}", "Open the book at page {NUM}."),
                ],
                &[
                    (
                        0,
                        "WHERE CLASSROOM {SUBJECT}",
                        "Where is the {SUBJECT} classroom?",
                    ),
                    (1, "CLASSROOM {NUM}", "In classroom {NUM}."),
                ],
            ],
            &[
                &[],
                &[
                    (0, "HOW-MANY PAGE READ", "How many pages should I read?"),
                    (1, "{NUM} PAGE", "{NUM} pages."),
                ],
                &[(1, "YOU PRACTICE MORE", "You should practise more.")],
                &[(1, "BRING BOOK TOMORROW", "Bring your book tomorrow.")],
            ],
            &[
                &[],
                &[
                    (0, "EXAM DIFFICULT QUESTION", "Will the exam be difficult?"),
                    (
                        1,
                        "NO YOU PRACTICE FINE",
                        "No, if you practise you will be fine.",
                    ),
                ],
            ],
            THING_MOVE,
            &[
                &[(0, "THANK-YOU TEACHER", "Thank you, teacher.")],
                &[(0, "THANK-YOU BYE", "Thank you, goodbye.")],
            ],
        ],
    },
    Topic {
        name: "doctor",
        roles: ["patient", "doctor"],
        slots: &[
            (
                "THING",
                &[
                    ("MEDICINE", "medicine"),
                    ("WAITING-ROOM", "waiting room"),
                    ("CHECK-UP", "check-up"),
                ],
            ),
            (
                "BODY",
                &[
                    ("HEAD", "head"),
                    ("STOMACH", "stomach"),
                    ("BACK", "back"),
                    ("THROAT", "throat"),
                ],
            ),
            ("DURATION", DURATION),
            ("NUM", &[("TWO", "two"), ("THREE", "three")]),
            ("DAY", DAY),
            ("HOUR", HOUR),
        ],
        script: &[
            &[
                &[(
                    0,
                    "HELLO I APPOINTMENT DOCTOR",
                    "Hello, I have an appointment with the doctor.",
                )],
                &[(0, "HELLO I SICK", "Hello, I feel sick.")],
            ],
            &[
                &[],
                &[(
                    1,
                    "PLEASE WAIT WAITING-ROOM",
                    "Please wait in the waiting room.",
                )],
            ],
            &[
                &[(1, "WHAT PROBLEM", "What is the problem?")],
                &[(1, "HOW YOU FEEL", "How are you feeling?")],
            ],
            &[
                &[(
                    0,
                    "MY {BODY} HURT {DURATION}",
                    "My {BODY} has hurt for {DURATION}.",
                )],
                &[(0, "I FEVER COUGH", "I have a fever and a cough.")],
            ],
            &[
                &[(1, "I CHECK-UP YOU", "Let me examine you.")],
                &[(
                    1,
                    "YOU TAKE MEDICINE {NUM} DAILY",
                    "Take the medicine {NUM} times a day.",
                )],
            ],
            &[
                &[],
                &[
                    (0, "MEDICINE WHERE BUY", "Where can I get the medicine?"),
                    (1, "PHARMACY NEXT-DOOR", "At the pharmacy next door."),
                ],
                &[
                    (0, "I WORK CAN", "Can I go to work?"),
                    (
                        1,
                        "NO REST HOME {DURATION}",
                        "No, stay at home and rest for {DURATION}.",
                    ),
                ],
            ],
            &[
                &[],
                &[(
                    1,
                    "NEXT APPOINTMENT {DAY} {HOUR}",
                    "Your next appointment is on {DAY} at {HOUR}.",
                )],
            ],
            THING_MOVE,
            &[&[(0, "THANK-YOU BYE", "Thank you, goodbye.")]],
        ],
    },
    Topic {
        name: "bank",
        roles: ["customer", "teller"],
        slots: &[
            (
                "THING",
                &[("CARD", "card"), ("CHEQUE", "cheque"), ("OFFICE", "office")],
            ),
            ("AMOUNT", AMOUNT),
            ("NUM", NUM),
        ],
        script: &[
            &[
                &[(
                    0,
                    "HELLO I WANT OPEN-ACCOUNT",
                    "Hello, I would like to open an account.",
                )],
                &[(
                    0,
                    "HELLO I WANT DEPOSIT {AMOUNT}",
                    "Hello, I want to deposit {AMOUNT}.",
                )],
                &[(0, "HELLO MY CARD LOST", "Hello, I have lost my card.")],
            ],
            &[
                &[(1, "IDENTITY PLEASE", "Your ID, please.")],
                &[(1, "PLEASE WAIT OFFICE", "Please wait in the office.")],
            ],
            &[
                &[],
                &[(0, "I WANT CHEQUE", "I would also like a cheque.")],
                &[(0, "I PAY BILL", "I want to pay a bill.")],
            ],
            &[
                &[(1, "SIGN HERE PLEASE", "Please sign here.")],
                &[(
                    1,
                    "NEW CARD {NUM} DAY",
                    "Your new card will come in {NUM} days.",
                )],
            ],
            &[
                &[],
                &[
                    (0, "HOW-MUCH FEE", "How much is the fee?"),
                    (1, "FEE {AMOUNT} MONTH", "The fee is {AMOUNT} a month."),
                ],
            ],
            THING_MOVE,
            &[&[(0, "THANK-YOU BYE", "Thank you, goodbye.")]],
        ],
    },
    Topic {
        name: "travel",
        roles: ["traveller", "agent"],
        slots: &[
            (
                "THING",
                &[
                    ("TICKET", "ticket"),
                    ("PASSPORT", "passport"),
                    ("ROOM", "room"),
                    ("TRAIN", "train"),
                ],
            ),
            (
                "CITY",
                &[
                    ("BERLIN", "Berlin"),
                    ("PARIS", "Paris"),
                    ("LONDON", "London"),
                    ("ROME", "Rome"),
                ],
            ),
            ("DAY", DAY),
            ("HOUR", HOUR),
            ("NUM", NUM),
            ("AMOUNT", AMOUNT),
        ],
        script: &[
            &[
                &[(
                    0,
                    "HELLO I WANT TICKET {CITY}",
                    "Hello, I would like a ticket to {CITY}.",
                )],
                &[(
                    0,
                    "HELLO I RESERVATION ROOM",
                    "Hello, I have a room reservation.",
                )],
            ],
            &[
                &[
                    (1, "TRAIN OR PLANE", "By train or by plane?"),
                    (0, "TRAIN PLEASE", "By train, please."),
                ],
                &[
                    (1, "WHEN YOU TRAVEL", "When do you want to travel?"),
                    (0, "{DAY} {HOUR}", "On {DAY} at {HOUR}."),
                ],
                &[(1, "PASSPORT PLEASE", "Your passport, please.")],
            ],
            &[
                &[(1, "TICKET PRICE {AMOUNT}", "The ticket costs {AMOUNT}.")],
                &[(1, "ROOM NUMBER {NUM}", "Your room is number {NUM}.")],
            ],
            &[&[], &[(0, "I PAY CARD", "I will pay by card.")]],
            &[
                &[],
                &[
                    (0, "TRAIN LEAVE WHEN", "When does the train leave?"),
                    (1, "{HOUR}", "At {HOUR}."),
                ],
                &[
                    (0, "BREAKFAST WHEN", "When is breakfast?"),
                    (1, "BREAKFAST {HOUR}", "Breakfast is at {HOUR}."),
                ],
            ],
            THING_MOVE,
            &[
                &[(0, "THANK-YOU BYE", "Thank you, goodbye.")],
                &[(1, "GOOD TRIP", "Have a good trip.")],
            ],
        ],
    },
    Topic {
        name: "restaurant",
        roles: ["guest", "waiter"],
        slots: &[
            (
                "THING",
                &[
                    ("MENU", "menu"),
                    ("SAUCE", "sauce"),
                    ("WATER", "water"),
                    ("RESERVATION", "reservation"),
                ],
            ),
            (
                "FOOD",
                &[
                    ("SOUP", "soup"),
                    ("FISH", "fish"),
                    ("PASTA", "pasta"),
                    ("SALAD", "salad"),
                ],
            ),
            (
                "DRINK",
                &[
                    ("WATER", "water"),
                    ("COFFEE", "coffee"),
                    ("JUICE", "juice"),
                    ("BEER", "beer"),
                ],
            ),
            ("NUM", NUM),
        ],
        script: &[
            &[
                &[(
                    0,
                    "HELLO RESERVATION {NUM} PERSON",
                    "Hello, we have a reservation for {NUM} people.",
                )],
                &[(
                    0,
                    "HELLO TABLE {NUM} PERSON PLEASE",
                    "Hello, a table for {NUM}, please.",
                )],
            ],
            &[
                &[(1, "MENU HERE", "Here is the menu.")],
                &[(
                    1,
                    "PLEASE SIT MENU HERE",
                    "Please sit down, here is the menu.",
                )],
            ],
            &[
                &[
                    (1, "WHAT YOU DRINK", "What would you like to drink?"),
                    (0, "{DRINK} PLEASE", "{DRINK}, please."),
                ],
                &[
                    (1, "WHAT YOU EAT", "What would you like to eat?"),
                    (0, "I WANT {FOOD}", "I would like the {FOOD}."),
                ],
            ],
            &[
                &[],
                &[
                    (
                        1,
                        "{FOOD} WITH SAUCE QUESTION",
                        "Would you like the {FOOD} with sauce?",
                    ),
                    (0, "YES PLEASE", "Yes, please."),
                ],
            ],
            &[
                &[(0, "BILL PLEASE", "The bill, please.")],
                &[(0, "I PAY CARD", "I will pay by card.")],
            ],
            THING_MOVE,
            &[
                &[(0, "THANK-YOU DELICIOUS", "Thank you, it was delicious.")],
                &[(0, "THANK-YOU BYE", "Thank you, goodbye.")],
            ],
        ],
    },
];

/// Names of the built-in topics.
pub fn topics() -> Vec<&'static str> {
    TOPICS.iter().map(|t| t.name).collect()
}

/// Dialogue number `index` of a corpus generated with `seed` (topics in rotation).
pub fn generate_dialogue(seed: u64, index: usize) -> Dialogue {
    let topic = &TOPICS[index % TOPICS.len()];
    let id = format!("{}-{index:05}", topic.name);
    let mut rng = rng_for(seed, &["dialogue", &id]);
    let bindings: BTreeMap<&str, (&str, &str)> = topic
        .slots
        .iter()
        .map(|(name, values)| (*name, *values.choose(&mut rng).expect("slot values")))
        .collect();
    let mut turns = Vec::new();
    for alternatives in topic.script {
        // Optional moves (an empty first alternative) are skipped 35 % of the time.
        let optional = alternatives[0].is_empty();
        let choices: Vec<_> = alternatives.iter().filter(|a| !a.is_empty()).collect();
        if choices.is_empty() || (optional && rng.random_bool(0.35)) {
            continue;
        }
        let exchange = choices.choose(&mut rng).expect("non-empty");
        for &(role, glosses, text) in exchange.iter() {
            turns.push(Turn {
                role: topic.roles[role],
                glosses: fill(glosses, &bindings, 0)
                    .split_whitespace()
                    .map(str::to_string)
                    .collect(),
                text: capitalize(&fill(text, &bindings, 1)),
            });
        }
    }
    Dialogue {
        id,
        topic: topic.name,
        roles: topic.roles,
        turns,
    }
}

/// Replace `{SLOT}` by the bound value's glosses (`field` 0) or text (`field` 1).
fn fill(template: &str, bindings: &BTreeMap<&str, (&str, &str)>, field: usize) -> String {
    let mut out = template.to_string();
    for (name, (glosses, text)) in bindings {
        out = out.replace(
            &format!("{{{name}}}"),
            if field == 0 { glosses } else { text },
        );
    }
    out
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Every gloss the grammar can produce, sorted.
pub fn vocabulary() -> BTreeSet<String> {
    let mut vocab = BTreeSet::new();
    for topic in TOPICS {
        let mut add = |s: &str| {
            vocab.extend(
                s.split_whitespace()
                    .filter(|g| !g.starts_with('{'))
                    .map(str::to_string),
            )
        };
        for (_, values) in topic.slots {
            for (g, _) in values.iter() {
                add(g);
            }
        }
        for alternatives in topic.script {
            for exchange in alternatives.iter() {
                for (_, g, _) in exchange.iter() {
                    add(g);
                }
            }
        }
    }
    vocab
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialogues_are_deterministic_and_fully_filled() {
        for i in 0..70 {
            let d = generate_dialogue(5, i);
            assert_eq!(d, generate_dialogue(5, i));
            assert!(d.turns.len() >= 3, "{d:?}");
            for t in &d.turns {
                assert!(!t.glosses.is_empty());
                assert!(
                    !t.text.contains('{') && !t.glosses.iter().any(|g| g.contains('{')),
                    "{t:?}"
                );
            }
        }
    }

    #[test]
    fn every_homonym_member_is_used_and_groups_are_disjoint() {
        let vocab = vocabulary();
        let mut seen = BTreeSet::new();
        for (key, glosses) in HOMONYMS {
            assert!(glosses.len() >= 2, "{key}");
            for g in *glosses {
                assert!(
                    vocab.contains(*g),
                    "{g} of {key} never produced by the grammar"
                );
                assert!(seen.insert(*g), "{g} in two groups");
                assert_eq!(motion_key(g), *key);
            }
        }
        assert_eq!(motion_key("HELLO"), "HELLO");
    }
}
