use std::time::Instant;

use super::*;

fn q(asker: u32, text: &str) -> UnmetQuestion {
    UnmetQuestion {
        asker,
        period: (asker % 3) as usize,
        text: text.to_string(),
    }
}

const PARKING: &[&str] = &[
    "hoe vraag ik een parkeervergunning aan?",
    "parkeervergunning aanvragen voor de parking bij kantoor",
    "waar regel ik een parkeervergunning",
    "mijn parkeervergunning is verlopen, hoe verleng ik die",
    "Parkeervergunning voor de parking van het hoofdkantoor",
    "krijg ik als parttimer ook een parkeervergunning voor de parking",
    "how do I get a parking permit",
    "parking permit for the office parking garage",
    "can I renew my parking permit online",
    "parking permit application parkeervergunning",
];
const BICYCLE: &[&str] = &[
    "kan ik een fiets leasen via de werkgever",
    "hoe werkt de fietslease regeling",
    "fietslease aanvragen, hoe gaat dat",
    "is er een lease fiets regeling voor medewerkers",
    "elektrische fiets leasen via het werk",
    "lease fiets aanvragen",
    "bicycle lease scheme for employees",
    "how do i lease a bike through work",
    "can I lease an e-bike via the bike lease plan",
    "bike lease scheme, how does it work",
    "lease bike of lease fiets regeling",
];
const CANTEEN: &[&str] = &[
    "wat is het menu van de kantine deze week",
    "menu kantine vandaag",
    "waar vind ik het weekmenu van de kantine",
    "heeft de kantine ook een vegetarisch menu",
    "canteen menu this week",
    "where can I find the canteen menu",
    "is there a vegetarian menu in the canteen",
    "canteen menu kantine",
];
const TINY: &[&str] = &["wanneer is de bedrijfsbarbecue", "bedrijfsbarbecue datum"];
const NOISE: &[&str] = &[
    "hoe reset ik mijn wachtwoord van de laptop",
    "the printer on floor three is broken",
    "wie organiseert de kerstborrel",
    "can i bring my dog to work",
    "waar liggen de nietjes",
    "is the elevator being repaired",
    "mijn beeldscherm flikkert",
    "how do i book a meeting room for tomorrow",
    "welke dag wordt het glas opgehaald",
    "airco staat te hoog in vergaderzaal",
    "the coffee machine tastes weird",
    "kan ik mijn bureau verplaatsen naar het raam",
    "my headset has no sound",
    "waar is de dichtstbijzijnde defibrillator",
    "who waters the plants",
];

/// Planted topics, each asked by distinct askers; `topic` per question (`None` = noise).
fn planted() -> (Vec<UnmetQuestion>, Vec<Option<usize>>) {
    let mut questions = Vec::new();
    let mut topic = Vec::new();
    let mut asker = 1000;
    for (t, texts) in [PARKING, BICYCLE, CANTEEN].iter().enumerate() {
        for (i, text) in texts.iter().enumerate() {
            // every text by one or two askers; the first ones by a few more
            let times = if i < 2 { 3 } else { 1 + i % 2 };
            for _ in 0..times {
                asker += 1;
                questions.push(q(asker, text));
                topic.push(Some(t));
            }
        }
    }
    for text in TINY {
        asker += 1;
        questions.push(q(asker, text));
        topic.push(Some(3));
    }
    for text in NOISE {
        asker += 1;
        questions.push(q(asker, text));
        topic.push(None);
    }
    // One asker, ten times the same question; and the same asker's paraphrases.
    for _ in 0..10 {
        questions.push(q(7, "wanneer gaat het zwembad op het dak open"));
        topic.push(None);
    }
    for text in [
        "zwembad dak open",
        "opening zwembad op het dak",
        "zwembad dak tijden",
    ] {
        questions.push(q(7, text));
        topic.push(None);
    }
    (questions, topic)
}

fn askers_using(questions: &[UnmetQuestion], cluster: &TopicCluster, word: &str) -> usize {
    let mut askers: Vec<u32> = cluster
        .members
        .iter()
        .filter(|m| {
            content_words(&questions[**m].text)
                .iter()
                .any(|w| w == word)
        })
        .map(|m| questions[*m].asker)
        .collect();
    askers.sort_unstable();
    askers.dedup();
    askers.len()
}

#[test]
fn finds_the_planted_topics_and_drops_the_rest() {
    let (questions, topic) = planted();
    let clusters = cluster_unmet(&questions, 5);
    for c in &clusters {
        eprintln!("{} askers, {:?}", c.askers, c.keywords);
    }
    assert_eq!(clusters.len(), 3, "{clusters:#?}");
    let mut found = Vec::new();
    for c in &clusters {
        // pure: at least 90% of the members from one planted topic
        let mut counts = [0usize; 5];
        for m in &c.members {
            counts[topic[*m].unwrap_or(4)] += 1;
        }
        let (best, count) = counts.iter().enumerate().max_by_key(|(_, n)| **n).unwrap();
        assert!(count * 10 >= c.members.len() * 9, "impure: {counts:?}");
        assert!(best < 3, "a cluster of the tiny topic or of noise: {c:?}");
        found.push(best);
        // distinct askers, counted
        let mut askers: Vec<u32> = c.members.iter().map(|m| questions[*m].asker).collect();
        askers.sort_unstable();
        askers.dedup();
        assert_eq!(askers.len(), c.askers);
        assert!(c.askers >= 5);
        // keywords: 1 to 5, none used by fewer than 5 askers, no stop words or placeholders
        assert!(!c.keywords.is_empty() && c.keywords.len() <= 5);
        for k in &c.keywords {
            assert!(askers_using(&questions, c, k) >= 5, "{k} in {c:?}");
            assert!(!is_stop_word(k) && !k.contains('['));
        }
    }
    found.sort_unstable();
    assert_eq!(found, [0, 1, 2]);
    // each planted topic mostly in its cluster
    for (t, texts) in [PARKING, BICYCLE, CANTEEN].iter().enumerate() {
        let asked = topic.iter().filter(|x| **x == Some(t)).count();
        let best = clusters
            .iter()
            .map(|c| c.members.iter().filter(|m| topic[**m] == Some(t)).count())
            .max()
            .unwrap();
        assert!(
            best * 10 >= asked * 7,
            "topic {t} ({}): {best} of {asked}",
            texts[0]
        );
    }
    let keywords: Vec<&str> = clusters
        .iter()
        .flat_map(|c| c.keywords.iter().map(String::as_str))
        .collect();
    for expected in ["parkeervergunning", "parking", "lease", "menu", "kantine"] {
        assert!(
            keywords.contains(&expected),
            "{expected} not in {keywords:?}"
        );
    }
    // sorted by askers
    assert!(clusters.windows(2).all(|w| w[0].askers >= w[1].askers));
    // deterministic
    assert_eq!(clusters, cluster_unmet(&questions, 5));
}

#[test]
fn one_person_asking_often_is_not_a_topic() {
    let mut questions: Vec<UnmetQuestion> = (0..10)
        .map(|_| q(1, "kan ik mijn hond meenemen naar kantoor"))
        .collect();
    questions.extend(
        [
            "hond mee naar kantoor",
            "honden op kantoor toegestaan",
            "mag mijn hond mee",
        ]
        .iter()
        .map(|t| q(1, t)),
    );
    assert!(cluster_unmet(&questions, 5).is_empty());
    // five different people asking the same thing is one
    questions.extend((2..=5).map(|a| q(a, "kan ik mijn hond meenemen naar kantoor")));
    let clusters = cluster_unmet(&questions, 5);
    assert_eq!(clusters.len(), 1);
    assert_eq!(clusters[0].askers, 5);
    for (i, question) in questions.iter().enumerate() {
        if question.text.starts_with("kan ik") {
            assert!(clusters[0].members.contains(&i));
        }
    }
    assert!(clusters[0].keywords.contains(&"hond".to_string()));
    // ... but words only one of them used are no keywords
    assert!(
        !clusters[0]
            .keywords
            .iter()
            .any(|k| k == "honden" || k == "toegestaan")
    );
}

#[test]
fn placeholders_stop_words_and_empty_input() {
    assert!(cluster_unmet(&[], 5).is_empty());
    assert_eq!(
        content_words("Kun je [email] of [phone] bellen over mijn Parkeervergunning?"),
        ["bellen", "parkeervergunning"]
    );
    let questions: Vec<UnmetQuestion> = (0..8)
        .map(|a| {
            q(
                a,
                &format!(
                    "mail [email] over de parkeervergunning {}",
                    ["", "a.u.b.", "nu"][a as usize % 3]
                ),
            )
        })
        .collect();
    let clusters = cluster_unmet(&questions, 5);
    assert_eq!(clusters.len(), 1);
    assert!(!clusters[0].keywords.iter().any(|k| k == "email"));
    // one text asked by enough people is a topic of its own
    let questions: Vec<UnmetQuestion> = (0..6).map(|a| q(a, "Fietslease?")).collect();
    let clusters = cluster_unmet(&questions, 5);
    assert_eq!(clusters.len(), 1);
    assert_eq!(clusters[0].keywords, ["fietslease"]);
    assert_eq!(clusters[0].members, [0, 1, 2, 3, 4, 5]);
    assert!(cluster_unmet(&questions, 7).is_empty());
    // only stop words and placeholders: nothing to cluster
    let questions: Vec<UnmetQuestion> = (0..8).map(|a| q(a, "hoi, [email]?")).collect();
    assert!(cluster_unmet(&questions, 5).is_empty());
}

/// Synthetic log: `topics` topics of paraphrases built from topic words and fillers, plus
/// noise, `distinct` distinct texts, `total` questions.
fn synthetic(distinct: usize, total: usize) -> Vec<UnmetQuestion> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let syllables = [
        "ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "be", "di", "go", "pu",
    ];
    let word = |next: &mut dyn FnMut() -> u64| -> String {
        let n = 2 + (next() % 3) as usize;
        (0..n).map(|_| syllables[(next() % 12) as usize]).collect()
    };
    let topics: Vec<Vec<String>> = (0..60)
        .map(|_| (0..4).map(|_| word(&mut next)).collect())
        .collect();
    let fillers = [
        "hoe",
        "kan",
        "ik",
        "de",
        "een",
        "how",
        "do",
        "i",
        "the",
        "voor",
        "aanvragen",
        "regeling",
        "apply",
        "policy",
    ];
    let mut texts = FxHashSet::default();
    let mut list = Vec::new();
    while list.len() < distinct {
        let text = if next() % 3 == 0 {
            (0..5)
                .map(|_| word(&mut next))
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            let t = &topics[(next() % 60) as usize];
            let mut parts: Vec<String> = (0..3).map(|_| t[(next() % 4) as usize].clone()).collect();
            for _ in 0..3 {
                parts.push(fillers[(next() % fillers.len() as u64) as usize].to_string());
            }
            parts.push(word(&mut next));
            parts.join(" ")
        };
        if texts.insert(text.clone()) {
            list.push(text);
        }
    }
    (0..total)
        .map(|i| {
            let text = if i < list.len() {
                &list[i]
            } else {
                &list[(next() % list.len() as u64) as usize]
            };
            q((next() % 20_000) as u32, text)
        })
        .collect()
}

/// Large logs cluster (the time is printed, not asserted: shared machines are noisy;
/// the figures in the module docs come from this test's output on a quiet machine).
#[test]
fn large_logs_cluster() {
    let scale = if cfg!(debug_assertions) { 10 } else { 1 };
    for (distinct, total) in [(2_000, 200_000), (5_000, 50_000)] {
        let (distinct, total) = (distinct / scale, total / scale);
        let questions = synthetic(distinct, total);
        let started = Instant::now();
        let clusters = cluster_unmet(&questions, 5);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        eprintln!(
            "{total} questions, {distinct} distinct texts: {} clusters in {ms:.0} ms",
            clusters.len()
        );
        assert!(!clusters.is_empty());
    }
}
