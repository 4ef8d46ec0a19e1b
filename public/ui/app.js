// The dashboard's entry point: wires the modules together and loads the first data.

import { forgetToken, onTokenChange, storedToken } from './api.js';
import { setupBrowserTraining } from './browser-training.js';
import { $, guard } from './dom.js';
import { setupDrawingPad } from './draw.js';
import { createJobs } from './jobs.js';
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

const forget = $('forget-token');
const showForget = () => (forget.hidden = !storedToken());
onTokenChange(showForget);
forget.addEventListener('click', () => {
  forgetToken();
  location.reload();
});
showForget();

// The jobs first: with API_TOKEN set, their 401 asks for the token before anything is shown, and
// nothing says "no jobs" or "no model" behind the dialog. Then the rest, with the token.
guard(async () => {
  await jobs.refresh();
  await Promise.all([models.refresh(), sweeps.refresh()]);
})();
