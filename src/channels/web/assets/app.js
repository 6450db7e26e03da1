/* Referral Desk — web chat client.
 * Plain JavaScript, no dependencies. All server-provided text is rendered with
 * textContent (never innerHTML); links are only created for http(s) and mailto URLs.
 * API calls use relative URLs so the page also works under a path prefix or in an iframe.
 * Who is asking is the server's business: it sets an HttpOnly session cookie, which fetch
 * sends along (same origin); the page keeps no id of its own.
 */
(function () {
  "use strict";

  var ASK_URL = "api/v1/ask";
  var FEEDBACK_URL = "api/v1/feedback";
  /* Where earlier versions kept a self-chosen session id; removed on load. */
  var OLD_SESSION_KEY = "referral-desk.session";
  var REQUEST_TIMEOUT_MS = 30000;

  var LABELS = {
    nl: {
      you: "Jij",
      bot: "Referral Desk",
      colleagues: "Collega's",
      information: "Informatie",
      desk: "Loket",
      alternative: "Alternatief",
      why: "Waarom: ",
      email: "E-mail",
      teams: "Chat in Teams",
      emailTo: "E-mail naar ",
      teamsWith: "Chat in Teams met ",
      phone: "Telefoon: ",
      hours: "Bereikbaar: ",
      website: "Website",
      newTab: " (opent in een nieuw tabblad)",
      didYouMean: "Bedoel je…?",
      outOfScope: function (desk) {
        return "Daar kan ik je niet mee helpen, maar " + desk + " wel:";
      },
      deskFallback: "het HRD-loket",
      directory: "Deze collega's passen bij je vraag:",
      noAnswer: "Ik heb hier geen antwoord op gevonden.",
      helpful: "Was dit nuttig?",
      yes: "Ja, dit was nuttig",
      no: "Nee, dit was niet nuttig",
      thanks: "Bedankt!",
      error: "Fout: ",
      network: "Geen verbinding met de server. Controleer je netwerk en probeer het opnieuw.",
      timeout: "De server reageert niet. Probeer het zo opnieuw.",
      serverError: function (status) { return "Er ging iets mis op de server (status " + status + ")."; },
      badResponse: "Het antwoord van de server kon niet worden gelezen.",
      thinking: "Referral Desk is een antwoord aan het opstellen…"
    },
    en: {
      you: "You",
      bot: "Referral Desk",
      colleagues: "Colleagues",
      information: "Information",
      desk: "Desk",
      alternative: "Alternative",
      why: "Why: ",
      email: "E-mail",
      teams: "Chat in Teams",
      emailTo: "E-mail ",
      teamsWith: "Chat in Teams with ",
      phone: "Phone: ",
      hours: "Hours: ",
      website: "Website",
      newTab: " (opens in a new tab)",
      didYouMean: "Did you mean…?",
      outOfScope: function (desk) {
        return "I can't help you with that, but " + desk + " can:";
      },
      deskFallback: "the HRD desk",
      directory: "These colleagues match your question:",
      noAnswer: "I couldn't find an answer to that.",
      helpful: "Was this helpful?",
      yes: "Yes, this was helpful",
      no: "No, this was not helpful",
      thanks: "Thanks!",
      error: "Error: ",
      network: "Could not reach the server. Check your network and try again.",
      timeout: "The server is not responding. Please try again shortly.",
      serverError: function (status) { return "Something went wrong on the server (status " + status + ")."; },
      badResponse: "The server's answer could not be read.",
      thinking: "Referral Desk is writing an answer…"
    }
  };

  var SVG_NS = "http://www.w3.org/2000/svg";
  var THUMB_PATH =
    "M2 21h4V9H2v12zm20-11c0-1.1-.9-2-2-2h-6.3l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L13.17 1 " +
    "6.59 7.59C6.22 7.95 6 8.45 6 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23" +
    ".14-.47.14-.73v-2z";

  var els = {};
  var busy = false;
  var currentLang = guessLanguage();

  /* ---------- helpers ---------- */

  function guessLanguage() {
    var langs = (navigator.languages && navigator.languages.length)
      ? navigator.languages : [navigator.language || "nl"];
    for (var i = 0; i < langs.length; i++) {
      var l = String(langs[i] || "").toLowerCase();
      if (l.indexOf("nl") === 0) return "nl";
      if (l.indexOf("en") === 0) return "en";
    }
    return "nl";
  }

  function labelsFor(lang) {
    return LABELS[lang] || LABELS[currentLang] || LABELS.nl;
  }

  function forgetOldSession() {
    try {
      window.localStorage.removeItem(OLD_SESSION_KEY);
    } catch (e) {
      /* storage blocked (e.g. third-party iframe): nothing was kept there either */
    }
  }

  function isNonEmptyString(v) {
    return typeof v === "string" && v.trim() !== "";
  }

  function asArray(v) {
    return Array.isArray(v) ? v : [];
  }

  /** Returns a safe absolute URL string for http(s)/mailto URLs, otherwise null. */
  function safeUrl(raw, allowMailto) {
    if (!isNonEmptyString(raw)) return null;
    var u;
    try {
      u = new URL(raw.trim(), document.baseURI);
    } catch (e) {
      return null;
    }
    if (u.protocol === "http:" || u.protocol === "https:") return u.href;
    if (allowMailto && u.protocol === "mailto:") return u.href;
    return null;
  }

  function mailtoUrl(email) {
    if (!isNonEmptyString(email)) return null;
    var e = email.trim();
    if (!/^[^\s@<>()",;:\\]+@[^\s@<>()",;:\\]+$/.test(e)) return null;
    return safeUrl("mailto:" + e, true);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function link(href, text, L, opts) {
    opts = opts || {};
    var a = el("a", opts.className || null);
    a.href = href;
    a.appendChild(document.createTextNode(String(text)));
    if (/^https?:/i.test(href)) {
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.appendChild(el("span", "visually-hidden", L.newTab));
    }
    if (opts.ariaLabel) a.setAttribute("aria-label", opts.ariaLabel + (a.target ? L.newTab : ""));
    return a;
  }

  function thumbIcon(down) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "18");
    svg.setAttribute("height", "18");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    if (down) svg.setAttribute("class", "thumb-down");
    var p = document.createElementNS(SVG_NS, "path");
    p.setAttribute("d", THUMB_PATH);
    p.setAttribute("fill", "currentColor");
    svg.appendChild(p);
    return svg;
  }

  /* ---------- scrolling ---------- */

  function scrollToBottom() {
    els.chat.scrollTop = els.chat.scrollHeight;
  }

  /** Scroll so the start of a (possibly long) reply is visible. */
  function scrollToStartOf(node) {
    var chatRect = els.chat.getBoundingClientRect();
    var nodeRect = node.getBoundingClientRect();
    var target = els.chat.scrollTop + (nodeRect.top - chatRect.top) - 8;
    var bottom = els.chat.scrollHeight - els.chat.clientHeight;
    els.chat.scrollTop = Math.max(0, Math.min(target, bottom));
  }

  /* ---------- rendering ---------- */

  function appendUserMessage(text) {
    var L = labelsFor(currentLang);
    var msg = el("div", "message user");
    msg.appendChild(el("span", "visually-hidden", L.you + ": "));
    msg.appendChild(el("p", "bubble", text));
    els.log.appendChild(msg);
    scrollToBottom();
  }

  function appendError(message, lang) {
    var L = labelsFor(lang || currentLang);
    var msg = el("div", "message bot error");
    var box = el("div", "error-box");
    var icon = el("span", "error-icon", "!");
    icon.setAttribute("aria-hidden", "true");
    box.appendChild(icon);
    var p = el("p");
    p.appendChild(el("strong", null, L.error));
    p.appendChild(document.createTextNode(message));
    box.appendChild(p);
    msg.appendChild(box);
    els.log.appendChild(msg);
    scrollToBottom();
  }

  function renderSpecialist(s, L) {
    var li = el("li", "specialist");
    if (s.role === "alternative") li.classList.add("alternative");

    var head = el("div", "specialist-head");
    head.appendChild(el("span", "specialist-name", s.name || s.id || ""));
    if (s.role === "alternative") head.appendChild(el("span", "badge", L.alternative));
    li.appendChild(head);

    if (isNonEmptyString(s.department)) li.appendChild(el("p", "specialist-dept", s.department));
    if (isNonEmptyString(s.expertise)) li.appendChild(el("p", "specialist-expertise", s.expertise));
    if (isNonEmptyString(s.reason)) {
      var r = el("p", "specialist-reason");
      r.appendChild(el("span", "reason-label", L.why));
      r.appendChild(document.createTextNode(s.reason));
      li.appendChild(r);
    }

    var contacts = el("p", "contacts");
    var who = s.name || "";
    var mail = mailtoUrl(s.email);
    if (mail) contacts.appendChild(link(mail, L.email, L, { className: "contact", ariaLabel: L.emailTo + who }));
    var teams = safeUrl(s.teams_chat_url, false);
    if (teams) contacts.appendChild(link(teams, L.teams, L, { className: "contact", ariaLabel: L.teamsWith + who }));
    if (contacts.childNodes.length) li.appendChild(contacts);
    return li;
  }

  function renderKnowledge(k, L) {
    var li = el("li", "knowledge-item");
    var href = safeUrl(k.url, false);
    var title = k.title || k.url || "";
    if (href) li.appendChild(link(href, title, L, { className: "knowledge-title" }));
    else li.appendChild(el("span", "knowledge-title", title));
    if (isNonEmptyString(k.summary)) li.appendChild(el("p", "knowledge-summary", k.summary));
    return li;
  }

  function renderDesk(d, L) {
    var box = el("div", "desk");
    box.appendChild(el("p", "desk-name", d.name || d.id || ""));
    var list = el("ul", "desk-details");
    var mail = mailtoUrl(d.email);
    if (mail) {
      var liMail = el("li");
      liMail.appendChild(link(mail, d.email.trim(), L));
      list.appendChild(liMail);
    } else if (isNonEmptyString(d.email)) {
      list.appendChild(el("li", null, d.email));
    }
    if (isNonEmptyString(d.phone)) list.appendChild(el("li", null, L.phone + d.phone));
    var url = safeUrl(d.url, false);
    if (url) {
      var liUrl = el("li");
      liUrl.appendChild(link(url, L.website, L, { ariaLabel: L.website + " " + (d.name || "") }));
      list.appendChild(liUrl);
    }
    if (isNonEmptyString(d.hours)) list.appendChild(el("li", null, L.hours + d.hours));
    if (list.childNodes.length) box.appendChild(list);
    return box;
  }

  function section(titleText, content) {
    var sec = el("section", "reply-section");
    var h = el("h2", "section-label", titleText);
    sec.appendChild(h);
    sec.appendChild(content);
    return sec;
  }

  function renderOptions(reply, question, L) {
    var wrap = el("div", "options");
    var groupLabel = el("p", "options-label", L.didYouMean);
    groupLabel.id = "opt-" + Math.random().toString(36).slice(2);
    wrap.appendChild(groupLabel);
    var group = el("div", "option-buttons");
    group.setAttribute("role", "group");
    group.setAttribute("aria-labelledby", groupLabel.id);
    asArray(reply.options).forEach(function (opt) {
      if (!opt || !isNonEmptyString(opt.intent)) return;
      var b = el("button", "option", opt.label || opt.intent);
      b.type = "button";
      b.addEventListener("click", function () {
        if (busy) return;
        var buttons = group.querySelectorAll("button");
        Array.prototype.forEach.call(buttons, function (x) { x.disabled = true; });
        b.classList.add("chosen");
        b.setAttribute("aria-pressed", "true");
        ask(question, opt.intent, opt.label || opt.intent).then(function (ok) {
          if (!ok) {
            Array.prototype.forEach.call(buttons, function (x) { x.disabled = false; });
            b.classList.remove("chosen");
            b.removeAttribute("aria-pressed");
          }
        });
      });
      group.appendChild(b);
    });
    wrap.appendChild(group);
    return wrap;
  }

  function renderFeedback(conversationId, L, lang) {
    var wrap = el("div", "feedback");
    var label = el("span", "feedback-label", L.helpful);
    wrap.appendChild(label);
    var buttons = el("span", "feedback-buttons");
    var status = el("span", "feedback-status");

    function send(helpful) {
      if (wrap.dataset.sent) return;
      wrap.dataset.sent = "1";
      up.disabled = true;
      down.disabled = true;
      status.textContent = "";
      status.classList.remove("error-text");
      postJson(FEEDBACK_URL, { conversation_id: conversationId, helpful: helpful }, lang)
        .then(function () {
          wrap.textContent = "";
          wrap.appendChild(el("span", "feedback-thanks", L.thanks));
        })
        .catch(function (err) {
          delete wrap.dataset.sent;
          up.disabled = false;
          down.disabled = false;
          status.classList.add("error-text");
          status.textContent = L.error + err.message;
        });
    }

    var up = el("button", "thumb");
    up.type = "button";
    up.setAttribute("aria-label", L.yes);
    up.title = L.yes;
    up.appendChild(thumbIcon(false));
    up.addEventListener("click", function () { send(true); });

    var down = el("button", "thumb");
    down.type = "button";
    down.setAttribute("aria-label", L.no);
    down.title = L.no;
    down.appendChild(thumbIcon(true));
    down.addEventListener("click", function () { send(false); });

    buttons.appendChild(up);
    buttons.appendChild(down);
    wrap.appendChild(buttons);
    wrap.appendChild(status);
    return wrap;
  }

  function renderReply(reply, question) {
    var lang = reply.language === "en" || reply.language === "nl" ? reply.language : currentLang;
    currentLang = lang;
    var L = labelsFor(lang);

    var msg = el("div", "message bot reply");
    msg.lang = lang;
    if (isNonEmptyString(reply.decision)) msg.dataset.decision = reply.decision;
    msg.appendChild(el("span", "visually-hidden", L.bot + ": "));
    var body = el("div", "reply-body");
    msg.appendChild(body);

    var specialists = asArray(reply.specialists).filter(Boolean);
    var knowledge = asArray(reply.knowledge).filter(Boolean);
    var options = asArray(reply.options).filter(function (o) { return o && isNonEmptyString(o.intent); });
    var desk = reply.desk && typeof reply.desk === "object" ? reply.desk : null;
    var structured = specialists.length || knowledge.length || options.length || desk;

    // Opening sentence: the server's intro; fall back to our own label or the full text.
    var introText = isNonEmptyString(reply.intro) ? reply.intro : "";
    if (!introText) {
      if (reply.decision === "out_of_scope" && desk) {
        introText = L.outOfScope(desk.name || L.deskFallback);
      } else if (reply.decision === "directory" && specialists.length) {
        introText = L.directory;
      } else if (!structured) {
        introText = isNonEmptyString(reply.text) ? reply.text : L.noAnswer;
      }
    }
    if (introText) body.appendChild(el("p", "reply-intro", introText));

    if (specialists.length) {
      var ul = el("ul", "specialists");
      specialists.forEach(function (s) { ul.appendChild(renderSpecialist(s, L)); });
      body.appendChild(section(L.colleagues, ul));
    }
    if (knowledge.length) {
      var kl = el("ul", "knowledge");
      knowledge.forEach(function (k) { kl.appendChild(renderKnowledge(k, L)); });
      body.appendChild(section(L.information, kl));
    }
    if (options.length) {
      body.appendChild(renderOptions(reply, question, L));
    }
    if (desk) {
      body.appendChild(section(L.desk, renderDesk(desk, L)));
    }
    if (reply.conversation_id !== null && reply.conversation_id !== undefined) {
      msg.appendChild(renderFeedback(reply.conversation_id, L, lang));
    }

    els.log.appendChild(msg);
    scrollToStartOf(msg);
  }

  /* ---------- networking ---------- */

  function RequestError(message) {
    this.name = "RequestError";
    this.message = message;
  }
  RequestError.prototype = Object.create(Error.prototype);

  function postJson(url, payload, lang) {
    var L = labelsFor(lang || currentLang);
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(payload),
      credentials: "same-origin",
      cache: "no-store",
      signal: controller ? controller.signal : undefined
    }).then(function (res) {
      if (timer) clearTimeout(timer);
      if (res.status === 204) return null;
      return res.text().then(function (body) {
        var data = null;
        if (body) {
          try { data = JSON.parse(body); } catch (e) { data = null; }
        }
        if (!res.ok) {
          var msg = data && isNonEmptyString(data.error) ? data.error : L.serverError(res.status);
          throw new RequestError(msg);
        }
        if (body && data === null) throw new RequestError(L.badResponse);
        return data;
      });
    }, function (err) {
      if (timer) clearTimeout(timer);
      if (err && err.name === "AbortError") throw new RequestError(L.timeout);
      throw new RequestError(L.network);
    });
  }

  function setBusy(on) {
    busy = on;
    els.input.disabled = on;
    els.send.disabled = on;
    els.form.setAttribute("aria-busy", on ? "true" : "false");
    els.typing.hidden = !on;
    els.typingStatus.textContent = on ? labelsFor(currentLang).thinking : "";
    if (on) scrollToBottom();
  }

  /**
   * Sends a question. `choice` is an intent id picked from "did you mean" options.
   * `shown` is the text shown as the user's message. Resolves to true on success.
   */
  function ask(text, choice, shown) {
    if (busy) return Promise.resolve(false);
    appendUserMessage(shown || text);
    setBusy(true);
    return postJson(ASK_URL, { text: text, choice: choice || null })
      .then(function (reply) {
        if (!reply || typeof reply !== "object") throw new RequestError(labelsFor(currentLang).badResponse);
        setBusy(false);
        renderReply(reply, text);
        return true;
      })
      .catch(function (err) {
        setBusy(false);
        appendError(err && err.message ? err.message : labelsFor(currentLang).network);
        if (!choice && !els.input.value) {
          els.input.value = text; // never lose what the user typed
        }
        return false;
      })
      .then(function (ok) {
        els.input.focus({ preventScroll: true });
        return ok;
      });
  }

  function onSubmit(ev) {
    ev.preventDefault();
    if (busy) return;
    var text = els.input.value.trim();
    if (!text) {
      els.input.focus();
      return;
    }
    els.input.value = "";
    ask(text, null, text);
  }

  function init() {
    els.form = document.getElementById("ask-form");
    els.input = document.getElementById("question");
    els.send = document.getElementById("send");
    els.log = document.getElementById("log");
    els.chat = document.getElementById("chat");
    els.typing = document.getElementById("typing");
    els.typingStatus = document.getElementById("typing-status");
    els.form.addEventListener("submit", onSubmit);
    forgetOldSession();
    // Only grab focus when we are the top-level page, not when embedded in an intranet iframe.
    if (window.self === window.top) els.input.focus({ preventScroll: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
