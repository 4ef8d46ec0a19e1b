// The dashboard's entry point: wires the modules together and loads the first data.

import { api, forgetToken, onTokenChange, signIn, storedToken } from './api.js';
import { setupBrowserTraining } from './browser-training.js';
import { $, guard } from './dom.js';
import { setupDrawingPad } from './draw.js';
import { createJobs } from './jobs.js';
import { createKeysPanel } from './keys.js';
import { renderExercises } from './exercises.js';
import { setupLab } from './lab.js';
import { createModelView } from './model-view.js';
import { createSweeps } from './sweeps.js';
import { setupTrainForm } from './train-form.js';

// Fashion-MNIST's classes in label order.
const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

const models = createModelView();
const pad = setupDrawingPad({ model: models.current, classNames: CLASS_NAMES });
models.onChange(() => pad.predict());

const jobs = createJobs({
  // A job that finishes while watched brings its model into the model picker.
  onFinished: guard(async (job) => {
    if (job.modelId) await models.refresh(job.modelId);
  }),
  onSelect: guard(async (job) => {
    if (job?.modelId && models.current()?.id !== job.modelId) await models.refresh(job.modelId);
  }),
});

setupTrainForm({ onCreated: (job) => jobs.add(job) });
setupBrowserTraining({ models, onServerJob: (job) => jobs.add(job) });
const sweeps = createSweeps();
setupLab();
renderExercises();

const keys = createKeysPanel();

const forget = $('forget-token');
const showForget = () => {
  forget.hidden = !storedToken();
  $('sign-in').hidden = !forget.hidden;
};
onTokenChange(showForget);
forget.addEventListener('click', () => {
  forgetToken();
  location.reload();
});
$('sign-in').addEventListener('click', guard(async () => {
  await signIn();
  if (storedToken()) location.reload();
}));
showForget();

// Who the page acts as: an API key's tenant and scopes, or anyone on a service without API_TOKEN.
function showIdentity(me) {
  $('identity').textContent = me.open ? `open service · ${me.tenant} tenant` : `${me.name} · ${me.tenant} · ${me.scopes.join(', ')}`;
}

// Who the page is first (with API_TOKEN set, the 401 asks for a key before anything is shown, and
// nothing says "no jobs" or "no model" behind the dialog); then what the key may see: the jobs,
// then the rest. A predict key sees the models and the drawing pad; an admin key the keys panel too.
guard(async () => {
  const me = await api('/keys/current');
  showIdentity(me);
  const trains = me.scopes.includes('train') || me.scopes.includes('admin');
  models.setAccess(me.tenant, trains, me.scopes.includes('admin'));
  for (const id of ['train-form', 'jobs-card', 'sweep-card']) $(id).closest('section').hidden = !trains;
  if (trains) await jobs.refresh();
  await Promise.all([models.refresh(), trains ? sweeps.refresh() : null, me.scopes.includes('admin') && !me.open ? keys.show() : null]);
})();
