/** The landing page's sign-in command names the address this service is reached at. */
const command = document.getElementById("command");
if (command) {
  command.textContent = `npm run -s token -- --role operator --sub ops-1 --sign-in-url ${location.origin}`;
}
