// storage-panel.js: the demo front page's storage panel. Uploads a file
// into the demo's local bucket with the official SDK (app.uploadFile: the
// upload info, then the signed PUT), lists what this page uploaded with a
// signed download link (app.getTempFileURL) and deletes (app.deleteFile).
// The gateway keeps no listing route (neither does CloudBase), so the list
// is this page's own uploads.

const FOLDER = 'uploads'

function describeError(err) {
  if (!err) return 'unknown error'
  return [err.code || err.error, err.message || err.msg].filter(Boolean).join(': ') || String(err)
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

export function renderStoragePanel(app) {
  const section = document.createElement('section')
  section.className = 'panel'
  section.id = 'panel-storage'
  section.innerHTML = `
    <h2>Storage: the local bucket <code>files</code></h2>
    <p class="description">Uploads a file (app.uploadFile: upload info, then a
      signed PUT to the gateway), lists it with a signed download link
      (app.getTempFileURL) and deletes it (app.deleteFile).</p>
    <form class="row" id="storage-upload">
      <input type="file" name="file" aria-label="file to upload">
      <button class="run" type="submit" disabled>Upload</button>
    </form>
    <p class="status" id="storage-status">Nothing uploaded yet.</p>
    <ul class="files" id="storage-files"></ul>`
  const form = section.querySelector('#storage-upload')
  const status = section.querySelector('#storage-status')
  const list = section.querySelector('#storage-files')

  const show = (className, text) => {
    status.className = `status ${className}`
    status.textContent = text
  }

  function addRow(fileID, name, size, url) {
    for (const old of list.querySelectorAll('li')) if (old.dataset.fileId === fileID) old.remove()
    const row = document.createElement('li')
    row.dataset.fileId = fileID
    row.innerHTML = '<a class="download" target="_blank" rel="noopener"></a> <span class="size"></span> <button class="delete">Delete</button>'
    const link = row.querySelector('a')
    link.href = url
    link.textContent = name
    row.querySelector('.size').textContent = formatSize(size)
    row.querySelector('.delete').addEventListener('click', async () => {
      show('busy', `Deleting ${name}…`)
      try {
        const res = await app.deleteFile({ fileList: [fileID] })
        const item = res.fileList && res.fileList[0]
        if (!item || item.code !== 'SUCCESS') throw item || res
        row.remove()
        show('ok', `Deleted ${name}.`)
      } catch (err) {
        show('error', `Delete failed: ${describeError(err)}`)
      }
    })
    list.append(row)
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const file = form.elements.file.files[0]
    if (!file) {
      show('error', 'Choose a file first.')
      return
    }
    const button = form.querySelector('button')
    button.disabled = true
    show('busy', `Uploading ${file.name}…`)
    try {
      const { fileID } = await app.uploadFile({ cloudPath: `${FOLDER}/${file.name}`, filePath: file })
      const res = await app.getTempFileURL({ fileList: [fileID] })
      const item = res.fileList && res.fileList[0]
      if (!item || item.code !== 'SUCCESS') throw item || res
      addRow(fileID, file.name, file.size, item.tempFileURL)
      show('ok', `Uploaded ${file.name} (${formatSize(file.size)}) as ${fileID}.`)
      form.reset()
    } catch (err) {
      show('error', `Upload failed: ${describeError(err)}`)
    } finally {
      button.disabled = !document.body.classList.contains('signed-in')
    }
  })
  return section
}
