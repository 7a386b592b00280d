// newswatch console: live stories (server-sent events) and the rule editor's live check.
// Plain JavaScript, no build step; every page works without it.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

  const list = document.getElementById("stories");
  if (list && list.dataset.live && window.EventSource) {
    const source = new EventSource(list.dataset.live);
    const status = document.getElementById("live-status");
    source.addEventListener("open", () => { if (status) status.hidden = false; });
    source.addEventListener("story", (event) => {
      const data = JSON.parse(event.data);
      if (list.querySelector('[data-key="' + data.key + '"]')) return;
      const holder = document.createElement("div");
      holder.innerHTML = data.html;  // rendered and escaped by the server's template
      const story = holder.firstElementChild;
      if (!story) return;
      story.classList.add("new");
      list.prepend(story);
      document.getElementById("no-stories")?.remove();
    });
  }

  const text = document.getElementById("rule-text");
  if (text) {
    const file = document.getElementById("rule-file");
    const errors = document.getElementById("rule-errors");
    const ok = document.getElementById("rule-ok");
    const preview = document.getElementById("rule-preview");
    let timer = null, seq = 0;
    const check = async () => {
      const mine = ++seq;
      const response = await fetch("/rules/check", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ file: file.value, text: text.value, preview: true }),
      });
      if (mine !== seq) return;  // a newer keystroke's answer wins
      const answer = await response.json();
      if (!answer.ok) {
        errors.textContent = answer.error;
        errors.hidden = false;
        ok.hidden = true;
        return;
      }
      errors.hidden = true;
      ok.textContent = "Valid: " + answer.rules.length + " rule(s) in this file.";
      ok.hidden = false;
      if (answer.preview !== undefined) preview.innerHTML = answer.preview;
    };
    text.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(check, 350); });
    check();
  }
})();
