// Filters the index: a track shows when it matches every filter; a release when any track shows.
(function () {
  "use strict";
  const form = document.getElementById("filters");
  if (!form) { return; }
  const field = (id) => document.getElementById(id);
  function apply() {
    const text = field("search").value.trim().toLowerCase();
    const style = field("style").value, mood = field("mood").value, key = field("key").value;
    const low = parseFloat(field("bpm-min").value), high = parseFloat(field("bpm-max").value);
    let shown = 0;
    document.querySelectorAll(".release").forEach((release) => {
      let any = false;
      release.querySelectorAll(".track").forEach((track) => {
        const bpm = parseFloat(track.dataset.bpm);
        const match = (!text || track.dataset.text.includes(text))
          && (!style || track.dataset.style === style)
          && (!mood || track.dataset.mood === mood)
          && (!key || track.dataset.key === key)
          && (isNaN(low) || bpm >= low) && (isNaN(high) || bpm <= high);
        track.hidden = !match;
        any = any || match;
      });
      release.hidden = !any;
      if (any) { shown += 1; }
    });
    field("count").textContent = shown + " release" + (shown === 1 ? "" : "s");
  }
  form.addEventListener("input", apply);
  form.addEventListener("submit", (event) => event.preventDefault());
  apply();
}());
