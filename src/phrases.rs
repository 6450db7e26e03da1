//! Every fixed sentence and label the desk shows askers and specialists, in Dutch and English,
//! in one place: the openings of replies ([`Phrases`], used by `routing::route`), the words
//! on buttons and fields ([`Labels`], used by the Slack and Teams presenters), the follow-up
//! messages and the Teams welcome ([`Welcome`]). A translator or HRD editor finds them here;
//! texts HRD writes themselves are in the catalogue. (The demand reports, read by HRD, keep
//! their own words beside their templates in `analytics::render`.)

use crate::text::Lang;

/// Fixed sentences of the desk in both languages.
pub struct Phrases;

impl Phrases {
    pub fn out_of_scope(lang: Lang, desk: &str) -> String {
        match lang {
            Lang::Nl => format!("Daar kan ik je niet mee helpen, maar het {desk} wel:"),
            Lang::En => format!("I can't help you with that one, but the {desk} can:"),
        }
    }

    pub fn did_you_mean(lang: Lang, a: &str, b: &str) -> String {
        match lang {
            Lang::Nl => format!("Bedoel je {a} of {b}?"),
            Lang::En => format!("Did you mean {a} or {b}?"),
        }
    }

    pub fn directory(lang: Lang, topic: &str) -> String {
        match lang {
            Lang::Nl => format!("Deze collega's weten veel van {topic}:"),
            Lang::En => format!("These colleagues know about {topic}:"),
        }
    }

    pub fn directory_none(lang: Lang, topic: &str, desk: &str) -> String {
        match lang {
            Lang::Nl => format!(
                "Ik vind niemand in de expertisegids voor {topic}. Het {desk} zoekt met je mee:"
            ),
            Lang::En => format!(
                "I can't find anyone in the directory for {topic}. The {desk} will help you look:"
            ),
        }
    }

    pub fn routed_default(lang: Lang, topic: &str) -> String {
        match lang {
            Lang::Nl => format!("Voor {topic} kun je hier terecht:"),
            Lang::En => format!("For {topic}, this is where to go:"),
        }
    }

    pub fn alternative(lang: Lang) -> &'static str {
        match lang {
            Lang::Nl => "of anders",
            Lang::En => "or else",
        }
    }

    pub fn matches_on(lang: Lang, words: &str) -> String {
        match lang {
            Lang::Nl => format!("expertise: {words}"),
            Lang::En => format!("expertise: {words}"),
        }
    }

    /// Teams: the asker's question went to `name`.
    pub fn passed_on_in_teams(lang: Lang, name: &str) -> String {
        match lang {
            Lang::Nl => {
                format!(
                    "Ik heb je vraag doorgezet naar {name}; die neemt via Teams contact met je op."
                )
            }
            Lang::En => {
                format!("I have passed your question on to {name}; they will contact you in Teams.")
            }
        }
    }

    /// Teams: `name` cannot be reached through the bot; `email` (may be empty) can.
    pub fn not_on_teams(lang: Lang, name: &str, email: &str) -> String {
        match (lang, email.is_empty()) {
            (Lang::Nl, false) => format!(
                "Ik kan je vraag niet via Teams aan {name} doorgeven. Mail je vraag naar {email}."
            ),
            (Lang::Nl, true) => format!("Ik kan je vraag niet via Teams aan {name} doorgeven."),
            (Lang::En, false) => format!(
                "I can't pass your question on to {name} in Teams. Please e-mail it to {email}."
            ),
            (Lang::En, true) => format!("I can't pass your question on to {name} in Teams."),
        }
    }

    /// Teams: the specialist's notice that `asker` asked something.
    pub fn question_for_you(lang: Lang, asker: &str) -> String {
        match lang {
            Lang::Nl => format!("{asker} heeft een vraag voor je via het verwijsloket."),
            Lang::En => format!("{asker} has a question for you via the referral desk."),
        }
    }

    /// Slack: the question went to `name` in a group chat.
    pub fn passed_on_in_slack(lang: Lang, name: &str) -> String {
        match lang {
            Lang::Nl => format!("Ik heb je vraag doorgezet naar {name} in een groepsgesprek."),
            Lang::En => format!("I have passed your question on to {name} in a group chat."),
        }
    }

    /// Slack: `name` has no Slack account in the catalogue.
    pub fn not_on_slack(lang: Lang, name: &str, email: &str) -> String {
        match lang {
            Lang::Nl => format!("{name} zit niet op Slack; mail naar {email}."),
            Lang::En => format!("{name} is not on Slack; e-mail {email}."),
        }
    }

    /// Slack: passing the question on failed; how to reach `person` (name, e-mail) directly.
    pub fn cannot_pass_on(lang: Lang, person: Option<(&str, &str)>) -> String {
        match (lang, person) {
            (Lang::Nl, Some((name, email))) => format!(
                "Het lukte niet om je vraag door te zetten naar {name}. Mail {name} gerust zelf: {email}."
            ),
            (Lang::En, Some((name, email))) => format!(
                "I could not pass your question on to {name}. Please e-mail them directly: {email}."
            ),
            (Lang::Nl, None) => {
                "Het lukte niet om je vraag door te zetten. Probeer het later opnieuw.".into()
            }
            (Lang::En, None) => "I could not pass your question on. Please try again later.".into(),
        }
    }

    /// Thanks for a 👍/👎.
    pub fn feedback_thanks(lang: Lang) -> &'static str {
        match lang {
            Lang::Nl => "Bedankt voor je feedback!",
            Lang::En => "Thanks for your feedback!",
        }
    }

    /// What someone who clicks another person's buttons is told, in both languages (whose
    /// conversation it is, and so its language, is none of their business).
    pub const NOT_YOURS: &'static str = "Alleen wie de vraag stelde kan deze knoppen gebruiken. / \
         Only the person who asked can use these buttons.";
}

/// The words on the buttons and fields of the Slack and Teams messages, in one language.
pub struct Labels {
    pub alternative: &'static str,
    pub contact: &'static str,
    pub contact_person: fn(&str) -> String,
    pub chat_with: fn(&str) -> String,
    pub pass_on: &'static str,
    pub helpful: &'static str,
    pub not_helpful: &'static str,
    pub open: &'static str,
    pub web: &'static str,
    pub website: &'static str,
    pub email: &'static str,
    pub phone: &'static str,
    pub hours: &'static str,
    pub topic: &'static str,
    pub desk_name: &'static str,
    pub someone: &'static str,
    pub colleague: &'static str,
    pub the_specialist: &'static str,
    pub asked: fn(&str) -> String,
    pub reply_in_teams: &'static str,
}

impl Labels {
    pub fn of(lang: Lang) -> &'static Labels {
        match lang {
            Lang::Nl => &Labels {
                alternative: "alternatief",
                contact: "Neem contact op",
                contact_person: |name| format!("Neem contact op met {name}"),
                chat_with: |name| format!("Chat met {name}"),
                pass_on: "Vraag doorzetten",
                helpful: "👍 Nuttig",
                not_helpful: "👎 Niet nuttig",
                open: "Openen",
                web: "Website",
                website: "Naar de website",
                email: "E-mail",
                phone: "Telefoon",
                hours: "Bereikbaar",
                topic: "Onderwerp",
                desk_name: "Verwijsloket",
                someone: "Iemand",
                colleague: "Collega",
                the_specialist: "de specialist",
                asked: |name| format!("{name} stelde het verwijsloket een vraag:"),
                reply_in_teams: "Reageer rechtstreeks in Teams.",
            },
            Lang::En => &Labels {
                alternative: "alternative",
                contact: "Contact",
                contact_person: |name| format!("Contact {name}"),
                chat_with: |name| format!("Chat with {name}"),
                pass_on: "Pass my question on",
                helpful: "👍 Helpful",
                not_helpful: "👎 Not helpful",
                open: "Open",
                web: "Website",
                website: "Go to the website",
                email: "E-mail",
                phone: "Phone",
                hours: "Hours",
                topic: "Topic",
                desk_name: "Referral Desk",
                someone: "Someone",
                colleague: "Colleague",
                the_specialist: "the specialist",
                asked: |name| format!("{name} asked the referral desk:"),
                reply_in_teams: "Reply to them directly in Teams.",
            },
        }
    }

    /// Slack: what did not fit in the message's 50 blocks.
    pub fn more_not_shown(lang: Lang, n: usize) -> String {
        match lang {
            Lang::Nl => format!("Nog {n} verwijzingen passen niet in dit bericht."),
            Lang::En => format!("{n} more referrals do not fit in this message."),
        }
    }

    pub fn more_specialists(lang: Lang, n: usize) -> String {
        match (lang, n) {
            (Lang::Nl, 1) => "Nog 1 collega niet getoond.".to_string(),
            (Lang::Nl, n) => format!("Nog {n} collega's niet getoond."),
            (Lang::En, 1) => "1 more colleague not shown.".to_string(),
            (Lang::En, n) => format!("{n} more colleagues not shown."),
        }
    }

    pub fn more_knowledge(lang: Lang, n: usize) -> String {
        match (lang, n) {
            (Lang::Nl, 1) => "Nog 1 link niet getoond.".to_string(),
            (Lang::Nl, n) => format!("Nog {n} links niet getoond."),
            (Lang::En, 1) => "1 more link not shown.".to_string(),
            (Lang::En, n) => format!("{n} more links not shown."),
        }
    }
}

/// The Teams welcome when the bot is installed: who it is, two example questions, and what
/// is logged (`retention_days`: how long question texts are kept; `None`: not at all).
pub struct Welcome {
    pub title: &'static str,
    pub what: &'static str,
    pub for_example: &'static str,
    pub examples: [&'static str; 2],
    pub privacy: &'static str,
    pub privacy_text: String,
}

impl Welcome {
    pub fn of(lang: Lang, retention_days: Option<u32>) -> Welcome {
        match lang {
        Lang::Nl => Welcome {
            title: "Hoi! Ik ben het verwijsloket.",
            what: "Stel me je vraag over leren, ontwikkeling en werk, dan verwijs ik je naar de juiste collega, informatie of het juiste loket. Stuur je vraag in een chat met mij, of noem me met @ in een kanaal.",
            for_example: "Bijvoorbeeld:",
            examples: [
                "Hoe vraag ik opleidingsbudget aan?",
                "Wie weet veel van Power BI?",
            ],
            privacy: "Privacy:",
            privacy_text: format!(
                "ik registreer je vragen zonder je naam (onder een pseudonieme sleutel), zodat HRD ziet naar welke onderwerpen veel vraag is. {}",
                match retention_days {
                    Some(1) => "De vraagteksten, zonder e-mailadressen, telefoonnummers en andere persoonsnummers, worden na 1 dag verwijderd.".to_string(),
                    Some(n) => format!("De vraagteksten, zonder e-mailadressen, telefoonnummers en andere persoonsnummers, worden na {n} dagen verwijderd."),
                    None => "De tekst van je vragen bewaar ik helemaal niet, alleen het onderwerp en waarheen ik je verwees.".to_string(),
                }
            ),
        },
        Lang::En => Welcome {
            title: "Hi! I'm the referral desk.",
            what: "Ask me about learning, development and work, and I'll refer you to the right colleague, information or desk. Send me your question in a chat, or @mention me in a channel.",
            for_example: "For example:",
            examples: [
                "How do I apply for a training budget?",
                "Who knows about Power BI?",
            ],
            privacy: "Privacy:",
            privacy_text: format!(
                "I log your questions without your name (under a pseudonymous key), so HRD can see which topics are in demand. {}",
                match retention_days {
                    Some(1) => "The question texts, with e-mail addresses, phone numbers and other personal numbers removed, are deleted after 1 day.".to_string(),
                    Some(n) => format!("The question texts, with e-mail addresses, phone numbers and other personal numbers removed, are deleted after {n} days."),
                    None => "I keep no question texts at all, only the topic and where I referred you.".to_string(),
                }
            ),
        },
    }
    }
}
