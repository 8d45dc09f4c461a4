// "Print" buttons (data-print): a script file, as the Content-Security-Policy forbids inline handlers.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
